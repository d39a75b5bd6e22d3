using System.Reflection;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Hosting;

namespace Sanjia.Tests.Hosting;

/// <summary>Every log event id comes from <see cref="LogEvents"/>, and each names one event.</summary>
public class LogEventsTests
{
    [Fact]
    public void The_list_holds_each_id_once()
    {
        var ids = typeof(LogEvents).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (Name: f.Name, Id: (int)f.GetRawConstantValue()!)).ToList();
        Assert.NotEmpty(ids);
        var clashes = ids.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Name))}");
        Assert.Empty(clashes);
    }

    [Fact]
    public void Every_logger_message_in_the_gateway_uses_its_own_id_from_the_list()
    {
        var listed = typeof(LogEvents).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (int)f.GetRawConstantValue()!).ToHashSet();
        var messages = GatewayAssemblies()
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .SelectMany(m => m.GetCustomAttributes<LoggerMessageAttribute>().Select(a => (Method: $"{m.DeclaringType!.FullName}.{m.Name}", a.EventId)))
            .ToList();

        // The gateway logs from the HTTP layer, the engine, the host and the local models: all of them are seen.
        Assert.True(messages.Count >= 30, $"only {messages.Count} [LoggerMessage] methods found");
        Assert.Empty(messages.Where(m => !listed.Contains(m.EventId)).Select(m => $"{m.Method}: {m.EventId} is not in LogEvents"));
        Assert.Empty(messages.GroupBy(m => m.EventId).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}"));
    }

    /// <summary>The host and every Sanjia assembly it references, directly or not.</summary>
    private static List<Assembly> GatewayAssemblies()
    {
        var found = new Dictionary<string, Assembly>();
        var queue = new Queue<Assembly>([typeof(GatewayApp).Assembly]);
        while (queue.TryDequeue(out var assembly))
        {
            if (!found.TryAdd(assembly.GetName().Name!, assembly)) continue;
            foreach (var name in assembly.GetReferencedAssemblies().Where(n => n.Name!.StartsWith("Sanjia", StringComparison.Ordinal)))
            {
                if (!found.ContainsKey(name.Name!)) queue.Enqueue(Assembly.Load(name));
            }
        }
        return [.. found.Values];
    }
}
