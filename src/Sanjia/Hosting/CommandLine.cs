using System.Globalization;
using Sanjia.Core.Configuration;

namespace Sanjia.Hosting;

/// <summary>
/// The serve command's switches, turned into configuration keys so that everything still goes through ASP.NET Core
/// configuration (and its precedence: command line over environment over files). Strict: a switch that is not one
/// of <see cref="Options"/> and not a configuration key (<c>--Section:Key=value</c>) is a <see cref="UsageException"/>
/// with the nearest known switch, so a typo never starts a server on defaults.
/// </summary>
public static class CommandLine
{
    /// <summary>The serve switches that take a value; see <c>sanjia serve --help</c>.</summary>
    public static readonly IReadOnlyList<string> Options = ["--port", "-p", "--host", "--model", "-m", "--models-dir", "--data", "--config", "--urls"];

    public static string[] ToConfigArgs(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var result = new List<string>();
        var host = "127.0.0.1";
        string? port = null;
        var models = 0;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string Next() => i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)
                ? args[++i] : throw new UsageException($"'{a}' needs a value.");
            switch (a)
            {
                case "serve" when i == 0:
                    break;
                case "--port" or "-p":
                    port = Next();
                    if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > 65535)
                    {
                        throw new UsageException($"--port: '{port}' is not a port number (0 to 65535; 0 picks a free one).");
                    }
                    break;
                case "--host":
                    host = Next();
                    if (ListenAddresses.HostError(host) is { } hostError)
                    {
                        throw new UsageException($"--host: {hostError}");
                    }
                    break;
                case "--model" or "-m":
                    result.Add($"--Sanjia:ModelFiles:{models++}={Next()}");
                    break;
                case "--models-dir":
                    result.Add($"--Sanjia:ModelsDir={Next()}");
                    break;
                case "--data":
                    result.Add($"--Sanjia:DataDir={Next()}");
                    break;
                case "--config":
                    Next(); // read by ConfigFile
                    break;
                case "--urls":
                    result.Add($"--Sanjia:Urls={Next()}");
                    break;
                default:
                    if (IsConfigurationKey(a))
                    {
                        // "--Section:Key=value", or "--Section:Key value" as ASP.NET Core's command-line source reads it.
                        result.Add(a);
                        if (!a.Contains('=', StringComparison.Ordinal))
                        {
                            result.Add(Next());
                        }
                        break;
                    }
                    throw Unknown(a);
            }
        }
        if (port is not null)
        {
            result.Add($"--Sanjia:Urls=http://{ListenAddresses.UrlHost(host)}:{port}");
        }
        else if (host != "127.0.0.1")
        {
            result.Add($"--Sanjia:Urls=http://{ListenAddresses.UrlHost(host)}:4000");
        }
        return [.. result];
    }

    public static string? ConfigFile(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var i = Array.IndexOf(args, "--config");
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>A configuration key as ASP.NET Core's command-line source takes it: <c>--Sanjia:Local:MaxQueue=8</c>.</summary>
    private static bool IsConfigurationKey(string arg)
    {
        if (!arg.StartsWith("--", StringComparison.Ordinal)) return false;
        var key = arg.AsSpan(2);
        var eq = key.IndexOf('=');
        if (eq >= 0) key = key[..eq];
        return key.Length > 0 && key.Contains(':') && key[0] != ':';
    }

    private static UsageException Unknown(string arg)
    {
        if (!arg.StartsWith('-'))
        {
            return new UsageException($"unexpected argument '{arg}'. Run 'sanjia --help' for the commands.");
        }
        var name = arg.Split('=', 2)[0];
        var suggestion = Spelling.Closest(name, [.. Options, "--help", "--version"]);
        return new UsageException(suggestion is not null
            ? $"unknown option '{name}'. Did you mean '{suggestion}'?"
            : $"unknown option '{name}'. Run 'sanjia serve --help' for the options; settings are given as --Sanjia:Key=value.");
    }
}

/// <summary>A command line that cannot be run as typed: exit code 2, the message and no stack trace.</summary>
public sealed class UsageException(string message) : ArgumentException(message);
