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
    public void Check_warns_of_entries_older_than_the_age_and_exits_0_or_3_with_strict()
    {
        var output = new StringWriter();
        var code = PricesCommand.Run(["check", "--max-age", "90", "--as-of", "2026-12-06"], output, TextWriter.Null);
        var text = output.ToString();
        // A shipped catalogue ages with its release: its old entries are a warning, not a failed command.
        Assert.True(code == 0, text);
        // The built-in catalogue's one entry older than 90 days then, with its age and source.
        var claude = text.IndexOf("openrouter/anthropic/claude-sonnet-4.5  checked 2025-10-15 (417 days)  https://openrouter.ai/models?fmt=table", StringComparison.Ordinal);
        Assert.True(claude > 0, text);
        Assert.DoesNotContain("qwen-intl/text-embedding-v3", text, StringComparison.Ordinal); // re-read 2026-10-12: 55 days
        Assert.DoesNotContain("deepseek/deepseek-flash", text, StringComparison.Ordinal); // checked 2026-11-28
        Assert.DoesNotContain("together/openai/gpt-oss-120b", text, StringComparison.Ordinal); // 2026-10-07: 60 days
        Assert.StartsWith("Warning: 1 of ", text, StringComparison.Ordinal);
        Assert.Contains("Their prices are still used. A newer Sanjia may carry re-read prices", text, StringComparison.Ordinal);

        // --strict: the same list, and an exit code of its own (1 stays a failed command).
        output = new StringWriter();
        Assert.Equal(3, PricesCommand.Run(["check", "--strict", "--max-age", "90", "--as-of", "2026-12-06"], output, TextWriter.Null));
        Assert.Equal(text, output.ToString());

        // A longer age finds none.
        output = new StringWriter();
        Assert.Equal(0, PricesCommand.Run(["check", "--strict", "--max-age", "1000", "--as-of", "2026-12-06"], output, TextWriter.Null));
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
        Assert.Equal(3, PricesCommand.Run(["check", "--file", file, "--max-age", "30", "--as-of", "2026-12-06", "--strict"], output, TextWriter.Null));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["Warning: 2 of 4 catalogue entries were not checked within 30 days of 2026-12-06 (before 2026-11-06):",
            "acme/unknown  never checked", "acme/old (unpriced)  checked 2026-01-02 (338 days)"], lines);
    }

    [Theory]
    [InlineData("--max-age", "soon")]
    [InlineData("--as-of", "yesterday")]
    [InlineData("--max-age")]
    [InlineData("--strct")]
    public void Check_refuses_unknown_or_invalid_options(params string[] options)
    {
        var error = new StringWriter();
        Assert.Equal(2, PricesCommand.Run(["check", .. options], TextWriter.Null, error));
        Assert.Contains(options[0], error.ToString(), StringComparison.Ordinal);
    }
}
