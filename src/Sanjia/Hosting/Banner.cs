using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Security;

namespace Sanjia.Hosting;

/// <summary>What the gateway tells its operator at start: where it listens, what it serves, where the key is.</summary>
internal static class Banner
{
    /// <param name="interactive">Output is a terminal: only then is a generated key printed. Under systemd or in a
    /// container stdout is the log, and a secret must not land there; the banner says where the key file is instead.</param>
    public static void Print(WebApplication app, TextWriter output, bool interactive)
    {
        var engine = app.Services.GetRequiredService<GatewayEngine>();
        var key = app.Services.GetRequiredService<MasterKey>();
        var addresses = GatewayApp.Addresses(app);
        output.WriteLine();
        output.WriteLine($"Sanjia gateway listening on {string.Join(", ", addresses)}");
        output.WriteLine($"  OpenAI-compatible base URL: {addresses.FirstOrDefault()}/v1");
        output.WriteLine();
        output.WriteLine("Providers:");
        var any = false;
        foreach (var p in engine.Registry.Providers.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            output.WriteLine($"  {p.Name,-12} {p.Describe}");
            any = true;
        }
        if (!any)
        {
            output.WriteLine("  (none: put GGUF files in ./models, pass --model PATH, or set a vendor key such as OPENAI_API_KEY or DEEPSEEK_API_KEY)");
        }
        output.WriteLine();
        output.WriteLine("Models:");
        foreach (var m in engine.Registry.List())
        {
            output.WriteLine($"  {m.Id}{(m.Kind == ModelKind.Embedding ? "  (embeddings)" : m.Kind == ModelKind.Image ? "  (images)" : "")}");
        }
        if (!engine.Registry.List().Any(m => m.Kind == ModelKind.Chat))
        {
            var options = app.Services.GetRequiredService<SanjiaOptions>();
            output.WriteLine("  (no chat model yet) To get one, download a GGUF into the models folder (served at once, no restart):");
            output.WriteLine($"    sanjia models pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M --dir {options.ModelsDir}");
            output.WriteLine("  or set a vendor key such as DEEPSEEK_API_KEY or OPENAI_API_KEY and restart.");
        }
        output.WriteLine();
        if (key.Generated && interactive)
        {
            output.WriteLine($"Master key generated (shown once; stored in {key.Source}):");
            output.WriteLine($"  {key.Value}");
        }
        else if (key.Generated)
        {
            output.WriteLine($"Master key generated and stored in {key.Source}; not printed, since this output is not a terminal.");
        }
        else
        {
            output.WriteLine($"Master key: from {key.Source}");
        }
        output.WriteLine();
    }

    /// <summary>A non-loopback bind is worth a line on stderr: every other machine that can reach the port can try keys.</summary>
    public static void WarnIfReachable(WebApplication app, TextWriter error)
    {
        if (!app.Services.GetRequiredService<SanjiaOptions>().NetworkWarning) return;
        var reachable = ListenAddresses.NetworkReachable(GatewayApp.Addresses(app));
        if (reachable.Count == 0) return;
        error.WriteLine($"warning: listening on {string.Join(", ", reachable)}: the gateway is reachable from the network; use --host 127.0.0.1 for this machine only.");
        error.WriteLine("  Expected in a container or behind a proxy: silence this with Sanjia__NetworkWarning=false (docs/deployment.md).");
    }
}
