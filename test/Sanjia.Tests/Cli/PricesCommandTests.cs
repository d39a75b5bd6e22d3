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
}
