using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Security;

namespace Sanjia.Hosting;

/// <summary>What the gateway tells its operator at start: where it listens, what it serves, where the key is.</summary>
internal static class Banner
{
    public static void Print(WebApplication app, TextWriter output)
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
            output.WriteLine($"  {m.Id}{(m.Kind == ModelKind.Embedding ? "  (embeddings)" : "")}");
        }
        output.WriteLine();
        if (key.Generated)
        {
            output.WriteLine($"Master key generated (shown once; stored in {key.Source}):");
            output.WriteLine($"  {key.Value}");
        }
        else
        {
            output.WriteLine($"Master key: from {key.Source}");
        }
        output.WriteLine();
    }
}
