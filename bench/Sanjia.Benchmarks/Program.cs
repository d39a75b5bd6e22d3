using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Sanjia.Benchmarks -- --filter '*'
// (any BenchmarkDotNet switch works: --job short, --inProcess, --filter '*Request*', --list flat)
// dotnet run -c Release --project bench/Sanjia.Benchmarks -- corpus
// (precision and recall of every guardrail detector on the labelled corpus, with 95 % intervals; no timing)
if (args is ["corpus", ..])
{
    var items = Sanjia.Core.Tests.Guardrails.GuardrailCorpus.Load();
    var rules = Sanjia.Core.Tests.Guardrails.GuardrailCorpus.Structured.Append(Sanjia.Core.Guardrails.RuleIds.Injection);
    Console.Write(Sanjia.Core.Tests.Guardrails.GuardrailCorpus.Table(rules.Select(r => Sanjia.Core.Tests.Guardrails.GuardrailCorpus.Evaluate(r, items))));
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
