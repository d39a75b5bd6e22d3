using Sanjia.Cli;
using Sanjia.Hosting;

// sanjia [serve] [options] | models ... | compare ... | prices import ... | --help | --version (see SanjiaCli, docs/cli.md)
int? exit;
using (var cts = new CancellationTokenSource())
{
    ConsoleCancelEventHandler cancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
    Console.CancelKeyPress += cancel;
    exit = await SanjiaCli.RunCommandAsync(args, Console.Out, Console.Error, cts.Token);
    Console.CancelKeyPress -= cancel;
}
if (exit is { } code)
{
    return code;
}

// Complete socket operations on the epoll thread rather than queueing them to the thread pool: a gateway's work
// per read is short and never blocks, and on a small machine the hand-offs cost more than the work (bench/README.md).
// Read once when the first socket is created, so it must be set before the host starts. An explicit value wins.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

return await GatewayRun.RunAsync(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);
