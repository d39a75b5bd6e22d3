using Sanjia.Core.Pricing;
using Sanjia.Hosting;

namespace Sanjia.Cli;

/// <summary>
/// <c>sanjia prices import PATH [--data DIR] [--out FILE]</c>: genai-prices data → the gateway's price file.
/// <c>sanjia prices check [--max-age DAYS] [--as-of DATE] [--file FILE]</c>: catalogue entries not checked against
/// their source within the age; exits 1 when there are any, so it can run on a schedule.
/// </summary>
internal static class PricesCommand
{
    /// <summary>The default age after which a catalogue entry should be read against its source again.</summary>
    public const int DefaultMaxAgeDays = 90;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length > 0 && args[0] == "check")
        {
            return Check(args[1..], output, error);
        }
        if (args.Length < 2 || args[0] != "import")
        {
            error.WriteLine("Usage: sanjia prices import <genai-prices data.json> [--data DIR] [--out FILE]");
            error.WriteLine($"       sanjia prices check [--max-age DAYS (default {DefaultMaxAgeDays})] [--as-of YYYY-MM-DD] [--file catalogue.json]");
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

    private static int Check(string[] args, TextWriter output, TextWriter error)
    {
        var maxAge = DefaultMaxAgeDays;
        var asOf = DateOnly.FromDateTime(DateTime.UtcNow);
        string? file = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--max-age" when i + 1 < args.Length && int.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var days) && days >= 0:
                    maxAge = days; i++; break;
                case "--as-of" when i + 1 < args.Length && PriceCatalogue.ParseDate(args[i + 1]) is { } date:
                    asOf = date; i++; break;
                case "--file" when i + 1 < args.Length: file = args[++i]; break;
                default:
                    error.WriteLine($"Unknown, incomplete or invalid option '{args[i]}'. Usage: sanjia prices check [--max-age DAYS] [--as-of YYYY-MM-DD] [--file catalogue.json]");
                    return 2;
            }
        }
        CatalogueFile catalogue;
        try
        {
            catalogue = file is null ? PriceCatalogue.ReadBuiltIn() : PriceCatalogue.ReadFile(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            error.WriteLine($"'{file}' is not a readable catalogue file: {ex.Message}");
            return 2;
        }
        var total = catalogue.CheckedEntries().Count();
        var stale = catalogue.StaleEntries(asOf, maxAge);
        if (stale.Count == 0)
        {
            output.WriteLine($"All {total} catalogue entries were checked within {maxAge} days of {asOf:yyyy-MM-dd}.");
            return 0;
        }
        output.WriteLine($"{stale.Count} of {total} catalogue entries were not checked within {maxAge} days of {asOf:yyyy-MM-dd} (before {asOf.AddDays(-maxAge):yyyy-MM-dd}):");
        foreach (var e in stale)
        {
            var when = e.Checked is { } d ? $"checked {d:yyyy-MM-dd} ({asOf.DayNumber - d.DayNumber} days)" : "never checked";
            output.WriteLine($"  {e.Id}  {when}{(e.Source is { } src ? "  " + src : "")}");
        }
        return 1;
    }
}
