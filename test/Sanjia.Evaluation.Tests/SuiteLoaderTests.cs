using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Tests;

public class SuiteLoaderTests
{
    private const string Yaml = """
        name: capitals
        defaults: { max_tokens: 16, temperature: 0 }
        template:
          - { role: system, content: Answer with one word. }
          - { role: user, content: "What is the capital of {{country}}?" }
        graders:
          - type: contains
            ignore_case: true
        cases:
          - id: fr
            vars: { country: France }
            expected: Paris
          - vars: { country: Norway }
            expected: "no"
          - prompt: What is 6 × 7?
            expected: 42
            graders: [{ type: numeric, weight: 2 }]
        """;

    [Fact]
    public void Yaml_suite_fills_templates_and_keeps_defaults()
    {
        var suite = SuiteLoader.FromYaml(Yaml);
        Assert.Equal("capitals", suite.Name);
        Assert.Equal(3, suite.Cases.Count);
        Assert.Equal("What is the capital of France?", suite.Cases[0].Messages[1].Content);
        Assert.Equal("system", suite.Cases[0].Messages[0].Role);
        Assert.Equal("case-2", suite.Cases[1].Id);
        Assert.Equal("no", suite.Cases[1].ExpectedText); // YAML 1.2: "no" stays text
        Assert.Equal("42", suite.Cases[2].ExpectedText);
        Assert.Equal("numeric", suite.Cases[2].Graders.Single().Type);
        Assert.Equal(2, suite.Cases[2].Graders.Single().Weight);
        Assert.Equal("contains", suite.Cases[0].Graders.Single().Type);
        Assert.Equal(16, (int)suite.RequestDefaults["max_tokens"]!);
        Assert.Equal(suite.Fingerprint, SuiteLoader.FromYaml(Yaml).Fingerprint);
        Assert.NotEqual(suite.Fingerprint, SuiteLoader.FromYaml(Yaml.Replace("Paris", "Lyon", StringComparison.Ordinal)).Fingerprint);
    }

    [Fact]
    public void Jsonl_suite_has_an_optional_header_and_one_case_per_line()
    {
        var suite = SuiteLoader.FromJsonLines("""
            {"suite": {"name": "json", "graders": ["exact"]}}
            {"id": "a", "messages": [{"role": "user", "content": "Say yes"}], "expected": "yes"}

            {"id": "b", "prompt": "Say no", "expected": "no"}
            """);
        Assert.Equal("json", suite.Name);
        Assert.Equal(["a", "b"], suite.Cases.Select(c => c.Id));
        Assert.Equal("Say no", suite.Cases[1].Messages.Single().Content);
        Assert.Equal("exact", suite.Cases[1].Graders.Single().Type);
    }

    [Theory]
    [InlineData("cases: []", "cases: a suite needs at least one case")]
    [InlineData("cases: [{prompt: hi}]", "no graders")]
    [InlineData("graders: [exact]\ncases: [{prompt: hi, expcted: x}]", "unknown field 'expcted'")]
    [InlineData("graders: [exact]\ntemplate: 'Hi {{name}}'\ncases: [{vars: {nam: x}}]", "does not set 'name'")]
    [InlineData("graders: [exact]\ncases: [{id: a, prompt: x}, {id: a, prompt: y}]", "id 'a' is used twice")]
    [InlineData("graders: [exact]\ndefaults: {model: x}\ncases: [{prompt: x}]", "defaults.model")]
    [InlineData("cases: [ {prompt: hi", "line")]
    public void Bad_suites_are_errors_that_say_where(string yaml, string message)
    {
        var e = Assert.Throws<SuiteFormatException>(() => SuiteLoader.FromYaml(yaml, "my.yaml"));
        Assert.StartsWith("my.yaml", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Jsonl_errors_name_the_line() =>
        Assert.Contains("line 2", Assert.Throws<SuiteFormatException>(() => SuiteLoader.FromJsonLines("{\"prompt\":\"a\",\"graders\":[\"exact\"]}\n{oops")).Message);

    [Fact]
    public void The_documented_example_suites_load()
    {
        var docs = FindDocs();
        foreach (var file in new[] { "compare-example.yaml", "compare-example.jsonl" })
        {
            var suite = SuiteLoader.Load(Path.Combine(docs, "examples", file));
            Assert.NotEmpty(suite.Cases);
            var registry = new Graders.GraderRegistry(Path.Combine(docs, "examples"));
            foreach (var c in suite.Cases)
            {
                foreach (var g in c.Graders) registry.Create(g, c);
            }
        }
    }

    internal static string FindDocs()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sanjia.slnx"))) return Path.Combine(dir.FullName, "docs");
        }
        throw new DirectoryNotFoundException("repository root not found");
    }
}
