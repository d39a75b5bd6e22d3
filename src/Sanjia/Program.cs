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
          sanjia prices import <genai-prices data.json> [--data data] [--out FILE]
        Any setting can also be given as --Sanjia:Key=value, as an environment variable Sanjia__Key, or in sanjia.json.
        """);
    return 0;
}
if (args.Length > 0 && args[0] == "prices")
{
    return Sanjia.Cli.PricesCommand.Run(args[1..], Console.Out, Console.Error);
}
if (args.Length > 0 && args[0] == "models")
{
    using var cts = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
    return await Sanjia.Cli.ModelsCommand.RunAsync(args[1..], cts.Token);
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
