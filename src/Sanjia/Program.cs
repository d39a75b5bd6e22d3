using Sanjia.Core.Configuration;
using Sanjia.Hosting;

// sanjia [serve] [--port N] [--host H] [--model PATH]... [--models-dir DIR] [--data DIR] [--config FILE]
// sanjia models pull|list ...
if (args.Length > 0 && args[0] is "--help" or "-h" or "help")
{
    Console.WriteLine("""
        Usage:
          sanjia [serve] [--port 4000] [--host 127.0.0.1] [--model PATH]... [--models-dir models] [--data data] [--config FILE]
          sanjia models pull <hf-repo> <file> [--revision main] [--dir models] [--sha256 HEX]
          sanjia models list [--dir models]
          sanjia compare --suite FILE --models a,b,c [--baseline a] [--url http://127.0.0.1:4000] [--key KEY] [--out DIR]
          sanjia prices import <genai-prices data.json> [--data data] [--out FILE]
        Any setting can also be given as --Sanjia:Key=value, as an environment variable Sanjia__Key, or in sanjia.json.
        """);
    return 0;
}
if (args.Length > 0 && args[0] == "prices")
{
    return Sanjia.Cli.PricesCommand.Run(args[1..], Console.Out, Console.Error);
}
if (args.Length > 0 && args[0] is "models" or "compare")
{
    using var cts = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
    return args[0] == "models"
        ? await Sanjia.Cli.ModelsCommand.RunAsync(args[1..], cts.Token)
        : await Sanjia.Cli.CompareCommand.RunAsync(args[1..], cts.Token);
}

// Complete socket operations on the epoll thread rather than queueing them to the thread pool: a gateway's work
// per read is short and never blocks, and on a small machine the hand-offs cost more than the work (bench/README.md).
// Read once when the first socket is created, so it must be set before the host starts. An explicit value wins.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

WebApplication app;
try
{
    app = GatewayApp.Build(args);
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
await app.StartAsync();
Banner.Print(app, Console.Out);
await app.WaitForShutdownAsync();
return 0;
