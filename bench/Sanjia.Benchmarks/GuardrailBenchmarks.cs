using System.Text;
using BenchmarkDotNet.Attributes;
using Sanjia.Core.Guardrails;

namespace Sanjia.Benchmarks;

/// <summary>
/// The guardrail detectors on a 4 KB mixed English and Chinese prompt (target: at most 50 us for every regex and
/// checksum detector together, issue 20). The phone parser (libphonenumber, on candidates starting with '+') is
/// measured on its own, as is a prompt with nothing to find (the common case).
/// </summary>
[Config(typeof(HotPathConfig))]
public class GuardrailBenchmarks
{
    internal static readonly Detector[] RegexAndChecksum =
    [
        BuiltInDetectors.Email, BuiltInDetectors.CnMobile, BuiltInDetectors.CnResidentId, BuiltInDetectors.BankCard,
        BuiltInDetectors.Iban, BuiltInDetectors.Ip, BuiltInDetectors.OpenAiKey, BuiltInDetectors.AwsAccessKey,
        BuiltInDetectors.GitHubToken, BuiltInDetectors.Jwt, BuiltInDetectors.PrivateKey, BuiltInDetectors.Injection,
    ];

    /// <summary>About 4 KB (4,096 UTF-16 characters) of prose in both languages with a few values of each kind.</summary>
    public static readonly string Mixed = Build(withValues: true);

    public static readonly string Clean = Build(withValues: false);

    private readonly List<Detection> _found = new(64);

    private static string Build(bool withValues)
    {
        var en = "The quarterly report covers revenue, churn and the roadmap for the next release; please review section 3.2 before Friday. ";
        var zh = "本季度报告包括收入、流失率以及下一个版本的路线图，请在周五之前审阅第三部分并提出修改意见。";
        var values = withValues
            ? "Contact li.na@example.com or +44 20 7946 0958, 手机 13812345678, 身份证 11010519491231002X, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, server 10.0.0.5, key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z. "
            : "Contact the team lead, 请联系项目负责人, see the shared folder, version 1.2.3 notes, and the design doc for details. ";
        var sb = new StringBuilder();
        while (sb.Length < 4096)
        {
            sb.Append(en).Append(zh);
            if (sb.Length is > 1000 and < 1400 or > 2800 and < 3300) sb.Append(values);
        }
        return sb.ToString(0, 4096);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("guardrails")]
    public int RegexAndChecksumDetectors_4KB_mixed()
    {
        _found.Clear();
        foreach (var d in RegexAndChecksum) d.Scan(Mixed, _found);
        return _found.Count;
    }

    [Benchmark, BenchmarkCategory("guardrails")]
    public int RegexAndChecksumDetectors_4KB_nothing_to_find()
    {
        _found.Clear();
        foreach (var d in RegexAndChecksum) d.Scan(Clean, _found);
        return _found.Count;
    }

    [Benchmark, BenchmarkCategory("guardrails")]
    public int PhoneParser_4KB_mixed()
    {
        _found.Clear();
        BuiltInDetectors.Phone.Scan(Mixed, _found);
        return _found.Count;
    }
}

/// <summary>Each regex and checksum detector alone on the 4 KB mixed prompt: where the total of <see cref="GuardrailBenchmarks"/> goes.</summary>
[Config(typeof(HotPathConfig))]
public class GuardrailDetectorBenchmarks
{
    private readonly List<Detection> _found = new(64);
    private Detector _detector = null!;

    public static IEnumerable<string> Rules => GuardrailBenchmarks.RegexAndChecksum.Select(d => d.RuleId);

    [ParamsSource(nameof(Rules))]
    public string Rule { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _detector = BuiltInDetectors.ByRuleId[Rule];

    [Benchmark]
    public int Detector_4KB_mixed()
    {
        _found.Clear();
        _detector.Scan(GuardrailBenchmarks.Mixed, _found);
        return _found.Count;
    }
}
