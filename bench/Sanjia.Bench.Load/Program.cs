using System.Globalization;
using Sanjia.Bench.Load;

// Modes:
//   stream      --url URL [--key K] [--model M] [-c|--concurrency 16] [--seconds 10 | --streams N] [--warmup 1]
//   startup     --gateway DLL --upstream URL [--repeats 3]
//   local-model --gateway DLL [--model-file PATH] [--tokens 400] [--repeats 10] [--threads 1] [--gateway-cpu N]
//   suite       --repo DIR [--out DIR] [--repeats 3] [--seconds 3] [--stream-seconds 4] [--stream-repeats 3] [--chunk-delay-ms 5] [--baseline DIR]
//               [--gateway-args "--Sanjia:X=1 ..."] [--baseline-args "..."]   extra arguments for either gateway (a feature off or on)
//               [--model-file PATH] [--local-repeats 20] [--tokens 400] [--note TEXT]
//   scale       --repo DIR [--out DIR] [--repeats 5] [--seconds 3] [--concurrency 16,64] [--revocations 50] [--note TEXT]
//               SQLite against PostgreSQL + Redis with a budgeted, rate-limited key; revocation A -> B; nginx in front of one instance and of three
//   ledger      [--rows 200000] [--repeats 3] [--postgres CONNECTION]   the ledger writer's rows/s from journal to committed PostgreSQL rows
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Sanjia.Bench.Load stream|startup|local-model|suite|scale|ledger [options]; see bench/README.md");
    return 2;
}
var a = new Args(args[1..]);
var modelFile = a.Get("model-file") ?? Environment.GetEnvironmentVariable("SANJIA_TEST_MODEL") ?? "/work/shared/models/stories260K.gguf";
switch (args[0])
{
    case "stream":
    {
        var streams = a.Get("streams") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : (int?)null;
        var result = await StreamLoad.RunAsync(new StreamLoadOptions(
            new Uri(a.Require("url")), a.Get("key"), a.Get("model") ?? "fast", a.Int("concurrency", a.Int("c", 16)),
            TimeSpan.FromSeconds(a.Double("seconds", 10)), streams, TimeSpan.FromSeconds(a.Double("warmup", 1))));
        Console.WriteLine(result.Describe());
        return result.Errors == 0 ? 0 : 1;
    }
    case "startup":
    {
        var work = Directory.CreateTempSubdirectory("sanjia-startup-").FullName;
        var times = await Gateway.MeasureStartupAsync(a.Require("gateway"), a.Require("upstream"), a.Int("repeats", 3), work, null);
        Console.WriteLine(FormattableString.Invariant($"start-up to first served request: median {Stats.Median(times):F0} ms ({string.Join(", ", times.Select(t => t.ToString("F0", CultureInfo.InvariantCulture)))})"));
        return 0;
    }
    case "local-model":
    {
        var work = Directory.CreateTempSubdirectory("sanjia-local-").FullName;
        var result = await LocalModel.RunAsync(a.Require("gateway"), modelFile, a.Int("tokens", 400), a.Int("repeats", 10), a.Int("threads", 1), work, a.Get("gateway-cpu") is { } cpu ? int.Parse(cpu, CultureInfo.InvariantCulture) : null);
        Console.WriteLine(result.Describe());
        return 0;
    }
    case "suite":
    {
        var repo = Path.GetFullPath(a.Get("repo") ?? ".");
        return await Suite.RunAsync(new SuiteOptions(repo, a.Get("out") ?? Path.Combine(repo, "bench/results"), a.Int("repeats", 3), a.Double("seconds", 3),
            a.Double("stream-seconds", 4), a.Int("stream-repeats", 3), a.Int("chunk-delay-ms", 5), modelFile, a.Int("local-repeats", 20), a.Int("tokens", 400), a.Get("note"), a.Get("baseline"), a.Get("gateway-args"), a.Get("baseline-args")));
    }
    case "scale":
    {
        var repo = Path.GetFullPath(a.Get("repo") ?? ".");
        var concurrency = (a.Get("concurrency") ?? "16,64").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        return await Scale.RunAsync(new ScaleOptions(repo, a.Get("out") ?? Path.Combine(repo, "bench/results"), a.Int("repeats", 5), a.Double("seconds", 3), concurrency,
            a.Int("revocations", 50), a.Get("note"), a.Int("profile", 0)));
    }
    case "ledger":
        return await LedgerWriter.RunAsync(a.Int("rows", 200_000), a.Int("repeats", 3), a.Get("postgres"));
    default:
        Console.Error.WriteLine($"unknown mode '{args[0]}'");
        return 2;
}
