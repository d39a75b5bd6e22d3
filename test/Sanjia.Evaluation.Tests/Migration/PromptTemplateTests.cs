using Sanjia.Core.Prompts;

namespace Sanjia.Evaluation.Tests.Migration;

public sealed class PromptTemplateTests
{
    private static readonly PromptVersion Version = new()
    {
        Version = 3,
        Messages = [new("system", "Be {{ tone }}."), new("user", "Capital of {{country}}? {{country}}!")],
        Variants = new Dictionary<string, IReadOnlyList<PromptMessage>>(StringComparer.OrdinalIgnoreCase)
        {
            ["cheap"] = [new("user", "alias variant {{country}}")],
            ["b/m2"] = [new("user", "deployment variant {{country}}")],
        },
    };

    [Fact]
    public void Variables_are_listed_once_in_first_use_order()
    {
        Assert.Equal(["tone", "country"], PromptTemplate.Variables(Version.Messages));
    }

    [Fact]
    public void Render_fills_every_occurrence()
    {
        var (messages, error) = PromptTemplate.Render(Version.Messages, new Dictionary<string, string> { ["tone"] = "brief", ["country"] = "Peru" });
        Assert.Null(error);
        Assert.Equal([new PromptMessage("system", "Be brief."), new PromptMessage("user", "Capital of Peru? Peru!")], messages);
    }

    [Fact]
    public void Missing_and_unknown_variables_are_named()
    {
        var (_, missing) = PromptTemplate.Render(Version.Messages, new Dictionary<string, string> { ["tone"] = "x" });
        Assert.Equal("missing_variable", missing!.Code);
        Assert.Contains("country", missing.Message, StringComparison.Ordinal);
        var (_, unknown) = PromptTemplate.Render(Version.Messages, new Dictionary<string, string> { ["tone"] = "x", ["country"] = "y", ["colour"] = "z" });
        Assert.Equal("unknown_variable", unknown!.Code);
        Assert.Contains("colour", unknown.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cheap", "a/m1", "cheap")]       // the id the caller names wins
    [InlineData("CHEAP", null, "cheap")]         // case-insensitive like model ids
    [InlineData("chat", "b/m2", "b/m2")]         // else the first deployment the model resolves to
    [InlineData("chat", "a/m1", null)]           // else the default messages
    public void A_variant_is_chosen_by_requested_id_then_deployment(string requested, string? deployment, string? expected)
    {
        var (messages, variant) = Version.Select(requested, deployment);
        Assert.Equal(expected, variant);
        Assert.Equal(expected is null ? Version.Messages : Version.Variants[expected], messages);
    }

    [Theory]
    [InlineData("capital", true)]
    [InlineData("v1.2_x-y", true)]
    [InlineData("-lead", false)]
    [InlineData("has space", false)]
    [InlineData("", false)]
    public void Ids_are_plain_names(string id, bool valid) => Assert.Equal(valid, PromptTemplate.IsValidId(id));
}
