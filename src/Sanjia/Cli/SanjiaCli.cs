using System.Reflection;
using Sanjia.Core.Configuration;
using Sanjia.Hosting;

namespace Sanjia.Cli;

/// <summary>
/// The <c>sanjia</c> command: picks the command, answers <c>--help</c> and <c>--version</c> on every command, and refuses
/// what it does not know with exit code 2 and the nearest known name. Exit codes (docs/cli.md): 0 success, 1 failure
/// (bad configuration, a start-up problem, a failed command), 2 usage error, 3 <c>prices check --strict</c> found
/// entries due for a re-read, 130 interrupted.
/// </summary>
public static class SanjiaCli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadUsage = 2;

    public static readonly IReadOnlyList<string> Commands = ["serve", "models", "compare", "prices", "db", "help", "version"];

    /// <summary>The product version: the assembly's informational version, with a source revision shortened to 7 characters.</summary>
    public static string Version { get; } = ReadVersion();

    // Every line stays within 80 columns, so no terminal wraps it in the middle of an option.
    internal const string Help = """
        Sanjia: an OpenAI- and Anthropic-compatible LLM gateway.

        Usage:
          sanjia [serve] [options]      Run the gateway (the default command).
          sanjia models <pull|list|rm>  Download, list and remove GGUF models.
          sanjia compare [options]      Compare models on a suite of cases.
          sanjia prices import <file>   Import a genai-prices price list.
          sanjia prices check           List catalogue prices due for a re-read.
          sanjia db copy --to CONN      Copy the SQLite stores into PostgreSQL.
          sanjia db delete --key ID     Delete a revoked key's (or, --user, an end
                                        user's) stored traffic.

        Options:
          -h, --help     Show help; 'sanjia <command> --help' for a command.
          -V, --version  Show the version.

        Exit codes: 0 success, 1 failure (bad configuration, start-up problem,
        failed command), 2 usage error, 3 prices check --strict found stale
        prices, 130 interrupted. See docs/cli.md.
        """;

    internal const string ServeHelp = """
        Usage: sanjia [serve] [options] [--Sanjia:Key=value]...

        Runs the gateway until SIGTERM or Ctrl-C (then requests in flight get
        Sanjia:ShutdownDrainSeconds, default 20, to finish).

        Options:
          -p, --port N       Port (default 4000; 0 picks a free one).
          --host ADDRESS     IP address to listen on (default 127.0.0.1: this
                             machine only; 0.0.0.0 or :: listens on the network).
          -m, --model PATH   Serve a GGUF file as local/<name>; repeatable.
          --models-dir DIR   Serve every GGUF file in DIR (default: models).
          --data DIR         Database, master key, journal (default: data).
          --config FILE      A JSON configuration file, read after ./sanjia.json.
          --urls URLS        Listen URLs, ';'-separated (Sanjia:Urls).
          -h, --help         Show this help.
          -V, --version      Show the version.

        Any setting can be given as --Sanjia:Key=value (--Sanjia:Local:MaxQueue=8),
        as an environment variable (Sanjia__Local__MaxQueue=8) or in sanjia.json.
        See docs/configuration.md.
        """;

    /// <summary>Commands other than serve, which needs the process's console and signals (see Program.cs).</summary>
    public static async Task<int?> RunCommandAsync(string[] args, TextWriter output, TextWriter error, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (args.Any(a => a is "--version" or "-V") || args is ["version"])
        {
            output.WriteLine($"sanjia {Version}");
            return Ok;
        }
        var command = args.Length == 0 || args[0].StartsWith('-') ? "serve" : args[0];
        switch (command)
        {
            case "help":
                output.WriteLine(args.Length > 1 && args[1] is "serve" ? ServeHelp : Help);
                return Ok;
            case "serve":
                if (args.Length > 0 && args[0] is "--help" or "-h")
                {
                    output.WriteLine(Help);
                    return Ok;
                }
                if (args.Any(a => a is "--help" or "-h"))
                {
                    output.WriteLine(ServeHelp);
                    return Ok;
                }
                return null; // the caller runs the gateway
            case "prices":
                return PricesCommand.Run(args[1..], output, error);
            case "models":
                return await ModelsCommand.RunAsync(args[1..], ct).ConfigureAwait(false);
            case "compare":
                return await CompareCommand.RunAsync(args[1..], ct).ConfigureAwait(false);
            case "db":
                return await DbCommand.RunAsync(args[1..], output, error, ct).ConfigureAwait(false);
            default:
                var suggestion = Spelling.Closest(command, Commands);
                error.WriteLine(suggestion is not null
                    ? $"sanjia: unknown command '{command}'. Did you mean '{suggestion}'?"
                    : $"sanjia: unknown command '{command}'. Run 'sanjia --help' for the commands.");
                return BadUsage;
        }
    }

    private static string ReadVersion()
    {
        var version = typeof(SanjiaCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 && version.Length > plus + 8 ? version[..(plus + 8)] : version;
    }
}
