using Sanjia.Core.Pricing;
using Sanjia.Hosting;

namespace Sanjia.Cli;

/// <summary><c>sanjia prices import PATH [--data DIR] [--out FILE]</c>: genai-prices data → the gateway's price file.</summary>
internal static class PricesCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length < 2 || args[0] != "import")
        {
            error.WriteLine("Usage: sanjia prices import <genai-prices data.json> [--data DIR] [--out FILE]");
            return 2;
        }
        var source = args[1];
        string? data = null, outFile = null;
        for (var i = 2; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data" when i + 1 < args.Length: data = args[++i]; break;
                case "--out" when i + 1 < args.Length: outFile = args[++i]; break;
                default:
                    error.WriteLine($"Unknown or incomplete option '{args[i]}'.");
                    return 2;
            }
        }
        if (!File.Exists(source))
        {
            error.WriteLine($"The file '{source}' does not exist.");
            return 1;
        }
        GenAiPricesImporter.Result result;
        try
        {
            using var stream = File.OpenRead(source);
            result = GenAiPricesImporter.Import(stream, DateOnly.FromDateTime(File.GetLastWriteTimeUtc(source)));
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException)
        {
            error.WriteLine($"'{source}' is not a genai-prices data file: {ex.Message}");
            return 1;
        }
        outFile ??= Path.Combine(data ?? "data", MeteringSetup.ImportedPricesFile);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
        using (var o = File.Create(outFile))
        {
            PriceCatalogue.Write(result.Catalogue, o);
        }
        output.WriteLine($"Imported {result.Catalogue.Models.Count} model prices from {result.Providers} providers ({result.Skipped} without a token price skipped) into {outFile}.");
        output.WriteLine("The gateway reads this file at start-up (Sanjia:Metering:PricesFile); configured Prices still win.");
        return 0;
    }
}
