using Sanjia.Cli;
using Sanjia.Core.Pricing;

namespace Sanjia.Tests.Cli;

public sealed class PricesCommandTests
{
    [Fact]
    public void Import_writes_a_price_file_the_gateway_reads()
    {
        var dir = Directory.CreateTempSubdirectory("sanjia-prices-").FullName;
        var output = new StringWriter();
        var error = new StringWriter();
        var code = PricesCommand.Run(["import", "/work/shared/data/genai-prices/data.json", "--data", dir], output, error);
        Assert.True(code == 0, error.ToString());
        var file = Path.Combine(dir, "prices.json");
        Assert.Contains("Imported", output.ToString());
        var catalogue = new PriceCatalogue();
        catalogue.AddAll(PriceCatalogue.ReadFile(file), "imported");
        Assert.Equal(2m, catalogue.Find("openai", "gpt-4.1")!.InputPerMTok);
    }

    [Fact]
    public void Import_of_a_missing_or_foreign_file_fails_with_a_clear_message()
    {
        var error = new StringWriter();
        Assert.Equal(1, PricesCommand.Run(["import", "/nonexistent/data.json"], TextWriter.Null, error));
        Assert.Contains("does not exist", error.ToString());
        var foreign = Path.GetTempFileName();
        File.WriteAllText(foreign, """{"not":"genai-prices"}""");
        error = new StringWriter();
        Assert.Equal(1, PricesCommand.Run(["import", foreign], TextWriter.Null, error));
        Assert.Contains("not a genai-prices data file", error.ToString());
    }

    [Fact]
    public void Check_lists_entries_older_than_the_age_and_exits_non_zero()
    {
        var output = new StringWriter();
        var code = PricesCommand.Run(["check", "--max-age", "90", "--as-of", "2026-12-06"], output, TextWriter.Null);
        var text = output.ToString();
        Assert.True(code == 1, text);
        // The built-in catalogue's oldest entries (checked 2025-10-15 and 2026-03-24), with their age and source, oldest first.
        var claude = text.IndexOf("openrouter/anthropic/claude-sonnet-4.5  checked 2025-10-15 (417 days)  https://openrouter.ai/models?fmt=table", StringComparison.Ordinal);
        var embedding = text.IndexOf("qwen-intl/text-embedding-v3  checked 2026-03-24 (257 days)", StringComparison.Ordinal);
        Assert.True(claude > 0 && embedding > claude, text);
        Assert.DoesNotContain("deepseek/deepseek-flash", text, StringComparison.Ordinal); // checked 2026-11-28
        Assert.DoesNotContain("together/openai/gpt-oss-120b", text, StringComparison.Ordinal); // 2026-10-07: 60 days
        Assert.StartsWith("3 of ", text, StringComparison.Ordinal); // and qwen-intl/text-embedding-v4 (2026-03-24)

        // A longer age finds none.
        output = new StringWriter();
        Assert.Equal(0, PricesCommand.Run(["check", "--max-age", "1000", "--as-of", "2026-12-06"], output, TextWriter.Null));
        Assert.Contains("were checked within 1000 days", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_reads_another_catalogue_file_and_flags_entries_never_checked()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, """
            {"models":[
              {"provider":"acme","model":"fresh","input":1,"output":2,"checked":"2026-12-01","source":"https://acme.test/prices"},
              {"provider":"acme","model":"unknown","input":1,"output":2}],
             "unpriced":[{"provider":"acme","model":"old","reason":"r","checked":"2026-01-02"}],
             "quirks":[{"providers":["acme"],"checked":"2026-12-01"}]}
            """);
        var output = new StringWriter();
        Assert.Equal(1, PricesCommand.Run(["check", "--file", file, "--max-age", "30", "--as-of", "2026-12-06"], output, TextWriter.Null));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["2 of 4 catalogue entries were not checked within 30 days of 2026-12-06 (before 2026-11-06):",
            "acme/unknown  never checked", "acme/old (unpriced)  checked 2026-01-02 (338 days)"], lines);
    }

    [Theory]
    [InlineData("--max-age", "soon")]
    [InlineData("--as-of", "yesterday")]
    [InlineData("--max-age")]
    [InlineData("--strict")]
    public void Check_refuses_unknown_or_invalid_options(params string[] options)
    {
        var error = new StringWriter();
        Assert.Equal(2, PricesCommand.Run(["check", .. options], TextWriter.Null, error));
        Assert.Contains(options[0], error.ToString(), StringComparison.Ordinal);
    }
}
