using Sanjia.Core.Configuration;
using Sanjia.Core.Pricing;
using Sanjia.Hosting;

namespace Sanjia.Cli;

/// <summary>
/// <c>sanjia prices import PATH [--data DIR] [--out FILE]</c>: genai-prices data → the gateway's price file.
/// <c>sanjia prices check [--max-age DAYS] [--as-of DATE] [--file FILE] [--strict]</c>: catalogue entries not checked
/// against their source within the age. They are a warning (exit 0): a shipped catalogue ages with its release, and
/// an old entry is not a broken install. <c>--strict</c> exits <see cref="StaleExitCode"/> when there are any, for a
/// scheduled job that should fail on them.
/// </summary>
internal static class PricesCommand
{
    // Within 80 columns (see SanjiaCli).
    private const string Usage = """
        Usage: sanjia prices import <data.json> [--data DIR] [--out FILE]
               sanjia prices check [--max-age DAYS] [--as-of YYYY-MM-DD]
                                   [--file catalogue.json] [--strict]

        import converts a genai-prices data file (github.com/pydantic/genai-prices)
        into the gateway's price file, read at start-up
        (Sanjia:Metering:PricesFile); configured Sanjia:Metering:Prices still win.

        check lists catalogue entries not checked against their source within
        --max-age days (default 90) as a warning and exits 0; with --strict it
        exits 3 when there are any.

        Options:
          --data DIR   The gateway's data folder (default: data).
          --out FILE   Write here instead of <data>/prices.json.
          -h, --help   Show this help.
        """;

    /// <summary>The default age after which a catalogue entry should be read against its source again.</summary>
    public const int DefaultMaxAgeDays = 90;

    /// <summary><c>prices check --strict</c> found entries due for a re-read (distinct from 1, a failed command).</summary>
    public const int StaleExitCode = 3;

    private static readonly string[] Options = ["--data", "--out", "--help"];

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Any(a => a is "--help" or "-h" or "help"))
        {
            output.WriteLine(Usage);
            return 0;
        }
        if (args.Length > 0 && args[0] == "check")
        {
            return Check(args[1..], output, error);
        }
        if (args.Length == 0 || args[0] != "import")
        {
            error.WriteLine(args.Length == 0
                ? "sanjia prices: missing subcommand 'import' or 'check'."
                : $"sanjia prices: unknown subcommand '{args[0]}'.{(Spelling.Closest(args[0], ["import", "check"]) is { } s ? $" Did you mean '{s}'?" : "")}");
            error.WriteLine("Usage: sanjia prices import <data.json> [--data DIR] [--out FILE]");
            return 2;
        }
        string? source = null, data = null, outFile = null;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data" when i + 1 < args.Length: data = args[++i]; break;
                case "--out" when i + 1 < args.Length: outFile = args[++i]; break;
                case "--data" or "--out":
                    error.WriteLine($"sanjia prices: '{args[i]}' needs a value.");
                    return 2;
                case var a when a.StartsWith('-'):
                    error.WriteLine($"sanjia prices: unknown option '{a}'.{(Spelling.Closest(a, Options) is { } o ? $" Did you mean '{o}'?" : "")}");
                    return 2;
                case var a when source is null: source = a; break;
                default:
                    error.WriteLine($"sanjia prices: unexpected argument '{args[i]}'; give one data file.");
                    return 2;
            }
        }
        if (source is null)
        {
            error.WriteLine("sanjia prices: missing the genai-prices data file.");
            error.WriteLine("Usage: sanjia prices import <data.json> [--data DIR] [--out FILE]");
            return 2;
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
        var strict = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--max-age" when i + 1 < args.Length && int.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var days) && days >= 0:
                    maxAge = days; i++; break;
                case "--as-of" when i + 1 < args.Length && PriceCatalogue.ParseDate(args[i + 1]) is { } date:
                    asOf = date; i++; break;
                case "--file" when i + 1 < args.Length: file = args[++i]; break;
                case "--strict": strict = true; break;
                default:
                    error.WriteLine($"sanjia prices check: unknown, incomplete or invalid option '{args[i]}'.");
                    error.WriteLine("Usage: sanjia prices check [--max-age DAYS] [--as-of YYYY-MM-DD] [--file catalogue.json] [--strict]");
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
        output.WriteLine($"Warning: {stale.Count} of {total} catalogue entries were not checked within {maxAge} days of {asOf:yyyy-MM-dd} (before {asOf.AddDays(-maxAge):yyyy-MM-dd}):");
        foreach (var e in stale)
        {
            var when = e.Checked is { } d ? $"checked {d:yyyy-MM-dd} ({asOf.DayNumber - d.DayNumber} days)" : "never checked";
            output.WriteLine($"  {e.Id}  {when}{(e.Source is { } src ? "  " + src : "")}");
        }
        if (file is null)
        {
            // What a user can do about the shipped catalogue: it is re-read with each release.
            output.WriteLine("Their prices are still used. A newer Sanjia may carry re-read prices; meanwhile Sanjia:Metering:Prices or an imported price file (sanjia prices import) overrides an entry.");
        }
        return strict ? StaleExitCode : 0;
    }
}
