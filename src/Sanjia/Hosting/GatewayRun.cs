using System.Net.Sockets;
using Sanjia.Cli;
using Sanjia.Core.Configuration;

namespace Sanjia.Hosting;

/// <summary>
/// <c>sanjia serve</c>: build, start, print the banner, run until SIGTERM or Ctrl-C. Every start-up problem is printed
/// once, as one or two lines naming the cause and the fix, with no stack trace (exit code 1; 2 for the command line).
/// </summary>
public static class GatewayRun
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool interactive)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        WebApplication app;
        try
        {
            app = GatewayApp.Build(args);
        }
        catch (UsageException ex)
        {
            error.WriteLine($"sanjia: {ex.Message}");
            return SanjiaCli.BadUsage;
        }
        catch (ConfigurationException ex)
        {
            error.WriteLine(ex.Errors.Count == 1 ? $"sanjia: cannot start: {ex.Errors[0]}" : "sanjia: cannot start, invalid configuration:");
            if (ex.Errors.Count > 1)
            {
                foreach (var e in ex.Errors) error.WriteLine($"  {e}");
            }
            return SanjiaCli.Failed;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
        {
            // Anything the checks above did not foresee: still one line, no stack trace.
            error.WriteLine($"sanjia: cannot start: {ex.Message}");
            return SanjiaCli.Failed;
        }

        await using (app.ConfigureAwait(false))
        {
            try
            {
                await app.StartAsync().ConfigureAwait(false);
            }
            catch (IOException ex) when (ex.InnerException is SocketException or Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                var address = ex.Message.Replace("Failed to bind to address ", "", StringComparison.Ordinal).Split(": ", 2)[0];
                error.WriteLine($"sanjia: cannot listen on {address}: {ex.InnerException.Message.TrimEnd('.')}.");
                error.WriteLine("  Another process (perhaps another Sanjia) holds it: stop it, or choose another port with --port.");
                return SanjiaCli.Failed;
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException
                or System.Security.Cryptography.CryptographicException)
            {
                error.WriteLine($"sanjia: cannot start: {ex.Message}");
                return SanjiaCli.Failed;
            }
            Banner.Print(app, output, interactive);
            Banner.WarnIfReachable(app, error);
            await app.WaitForShutdownAsync().ConfigureAwait(false);
        }
        return SanjiaCli.Ok;
    }
}
