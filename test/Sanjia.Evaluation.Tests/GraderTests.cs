using System.Text.Json.Nodes;
using Sanjia.Evaluation.Graders;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Tests;

public class GraderTests
{
    private static readonly GraderRegistry Registry = new();

    private static IGrader Make(string type, JsonNode? expected = null, JsonObject? settings = null) =>
        Registry.Create(new GraderSpec(type, 1, settings ?? [], "graders[0]"), Case(expected));

    private static EvalCase Case(JsonNode? expected) => new("c1", [new EvalMessage("user", "question?")], expected, []);

    private static async Task<Grade> GradeAsync(IGrader grader, string output, IModelRunner? runner = null) =>
        await grader.GradeAsync(new GradeContext(Case(null), output, runner ?? new ScriptedRunner(r => ScriptedRunner.Text(r, ""))), default);

    [Theory]
    [InlineData("Paris", "Paris", true)]
    [InlineData("  Paris\n", "Paris", true)]
    [InlineData("paris", "Paris", false)]
    [InlineData("Paris.", "Paris", false)]
    public async Task Exact_match_trims_and_is_case_sensitive_by_default(string output, string expected, bool passes)
    {
        var grade = await GradeAsync(Make("exact", expected), output);
        Assert.Equal(passes, grade.Passed);
        Assert.Equal(passes ? 1 : 0, grade.Score);
    }

    [Fact]
    public async Task Exact_match_can_ignore_case() =>
        Assert.True((await GradeAsync(Make("exact", "Paris", new JsonObject { ["ignore_case"] = true }), "PARIS")).Passed);

    [Fact]
    public async Task Contains_scores_the_share_of_expected_items_found()
    {
        var grader = Make("contains", new JsonArray("red", "green", "blue", "white"));
        var grade = await GradeAsync(grader, "red, green and blue");
        Assert.False(grade.Passed);
        Assert.Equal(0.75, grade.Score, 6);
        Assert.Contains("'white'", grade.Reason);
        Assert.True((await GradeAsync(grader, "white red green blue")).Passed);
    }

    [Fact]
    public async Task Contains_any_passes_on_one_item_and_a_value_setting_overrides_expected()
    {
        var grader = Make("contains", "ignored", new JsonObject { ["value"] = new JsonArray("cat", "dog"), ["mode"] = "any" });
        Assert.True((await GradeAsync(grader, "a dog")).Passed);
        Assert.False((await GradeAsync(grader, "ignored")).Passed);
    }

    [Theory]
    [InlineData("Order #12345 shipped", true)]
    [InlineData("Order 12345 shipped", false)]
    public async Task Regex_matches_the_pattern(string output, bool passes) =>
        Assert.Equal(passes, (await GradeAsync(Make("regex", settings: new JsonObject { ["pattern"] = @"#\d{5}\b" }), output)).Passed);

    [Fact]
    public void Regex_with_a_bad_pattern_is_a_suite_error_naming_the_setting()
    {
        var e = Assert.Throws<SuiteFormatException>(() => Make("regex", settings: new JsonObject { ["pattern"] = "(" }));
        Assert.Contains("graders[0].pattern", e.Message);
    }

    [Theory]
    [InlineData("""{"name":"Ada","age":36}""", true)]
    [InlineData("```json\n{\"name\":\"Ada\",\"age\":36}\n```", true)]
    [InlineData("""{"name":"Ada"}""", false)]
    [InlineData("""{"name":"Ada","age":"old"}""", false)]
    [InlineData("Sure! Here is the JSON", false)]
    public async Task Json_schema_checks_validity(string output, bool passes)
    {
        var schema = JsonNode.Parse("""{"type":"object","required":["name","age"],"properties":{"name":{"type":"string"},"age":{"type":"integer"}}}""");
        var grade = await GradeAsync(Make("json_schema", settings: new JsonObject { ["schema"] = schema }), output);
        Assert.Equal(passes, grade.Passed);
        if (!passes) Assert.False(string.IsNullOrEmpty(grade.Reason));
    }

    [Theory]
    [InlineData("The answer is 42.", 42, 0, true)]
    [InlineData("First 3, then 41.9", 42, 0.2, true)]
    [InlineData("About 1,234.5 units", 1234.5, 0, true)]
    [InlineData("It is 40", 42, 1, false)]
    [InlineData("no idea", 42, 1, false)]
    [InlineData("-7 degrees", -7, 0, true)]
    public async Task Numeric_takes_the_last_number_within_tolerance(string output, double expected, double tolerance, bool passes) =>
        Assert.Equal(passes, (await GradeAsync(Make("numeric", expected, new JsonObject { ["tolerance"] = tolerance }), output)).Passed);

    [Fact]
    public async Task Numeric_relative_tolerance_and_first_pick()
    {
        var grader = Make("numeric", 200, new JsonObject { ["relative_tolerance"] = 0.05, ["pick"] = "first" });
        Assert.True((await GradeAsync(grader, "195 out of 1000")).Passed);
        Assert.False((await GradeAsync(grader, "185 out of 200")).Passed);
    }

    [Fact]
    public void Numeric_needs_a_numeric_expected_value()
    {
        var e = Assert.Throws<SuiteFormatException>(() => Make("numeric", "many"));
        Assert.Contains("not a number", e.Message);
    }

    [Fact]
    public async Task Embedding_similarity_scores_the_cosine_through_the_runner()
    {
        var runner = new ScriptedRunner(r => ScriptedRunner.Text(r, ""))
        {
            Embed = t => t.StartsWith("cat", StringComparison.Ordinal) ? [1, 0] : t.StartsWith("kitten", StringComparison.Ordinal) ? [0.8f, 0.6f] : [0, 1],
        };
        var grader = Make("embedding", "cat on a mat", new JsonObject { ["threshold"] = 0.75 });
        var close = await GradeAsync(grader, "kitten on a rug", runner);
        Assert.True(close.Passed);
        Assert.Equal(0.8, close.Score, 3);
        var far = await GradeAsync(grader, "stock prices", runner);
        Assert.False(far.Passed);
        Assert.Equal(0, far.Score, 3);
    }

    [Fact]
    public async Task Judge_sends_the_rubric_and_answer_and_reads_the_score()
    {
        var runner = new ScriptedRunner(r => ScriptedRunner.Text(r, r.Messages[^1].Content.Contains("polite", StringComparison.Ordinal)
            ? """{"score": 8, "reason": "polite and correct"}""" : """{"score": 2}"""));
        var grader = Make("judge", settings: new JsonObject { ["model"] = "judge-model", ["rubric"] = "Is the answer polite?" });
        var grade = await GradeAsync(grader, "Thank you for asking!", runner);
        Assert.True(grade.Passed);
        Assert.Equal(0.8, grade.Score, 6);
        Assert.Contains("polite and correct", grade.Reason);
        var call = Assert.Single(runner.Calls);
        Assert.Equal("judge-model", call.Model);
        Assert.Contains("Thank you for asking!", call.Messages[^1].Content);
    }

    [Fact]
    public async Task Judge_without_a_score_marks_the_grader_as_failed()
    {
        var runner = new ScriptedRunner(r => ScriptedRunner.Text(r, "I cannot grade this."));
        var grade = await GradeAsync(Make("judge", settings: new JsonObject { ["model"] = "j", ["rubric"] = "r" }), "x", runner);
        Assert.True(grade.GraderFailed);
        Assert.False(grade.Passed);
    }

    [Theory]
    [InlineData("""{"score": 7.5}""", 7.5)]
    [InlineData("Score: 9", 9.0)]
    [InlineData("6/10", 6.0)]
    [InlineData("score: 11", null)]
    [InlineData("great answer", null)]
    public void Judge_score_parsing(string text, double? expected) => Assert.Equal(expected, JudgeGrader.ParseScore(text));

    [Fact]
    public void Unknown_grader_and_unknown_setting_are_errors_with_paths()
    {
        var unknown = Assert.Throws<SuiteFormatException>(() => Make("fuzzy"));
        Assert.Contains("graders[0]", unknown.Message);
        Assert.Contains("'fuzzy'", unknown.Message);
        var typo = Assert.Throws<SuiteFormatException>(() => Make("exact", "x", new JsonObject { ["ignorecase"] = true }));
        Assert.Contains("graders[0].ignorecase", typo.Message);
    }

    [Fact]
    public void Graders_that_need_an_expected_value_say_so() =>
        Assert.Contains("expected", Assert.Throws<SuiteFormatException>(() => Make("exact")).Message);

    private sealed class LengthGrader : IGrader
    {
        public ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(context.Output.Length <= 10 ? Grade.Pass() : Grade.Fail("too long"));
    }

    [Fact]
    public async Task Custom_graders_are_registered_by_type_name()
    {
        var registry = new GraderRegistry().Register("short", _ => new LengthGrader());
        var grader = registry.Create(new GraderSpec("short", 1, [], "graders[0]"), Case(null));
        Assert.True((await GradeAsync(grader, "ok")).Passed);
        Assert.False((await GradeAsync(grader, "a much longer answer")).Passed);
    }
}
