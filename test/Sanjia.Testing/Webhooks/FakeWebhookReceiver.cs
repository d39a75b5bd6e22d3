using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sanjia.Testing.Webhooks;

/// <summary>One POST as the receiver got it: headers by lower-case name, the raw body, and the status it answered.</summary>
public sealed record WebhookDelivery(IReadOnlyDictionary<string, string> Headers, byte[] Body, int AnsweredStatus, DateTimeOffset At)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A webhook endpoint on a real socket (127.0.0.1, free port) that records every POST and answers each with the next
/// queued status (200 when none is queued), so tests can make it fail, then recover.
/// </summary>
public sealed class FakeWebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<WebhookDelivery> _deliveries = [];
    private readonly Queue<int> _statuses = new();
    private TaskCompletionSource _arrival = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FakeWebhookReceiver(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public IReadOnlyList<WebhookDelivery> Deliveries
    {
        get { lock (_gate) return [.. _deliveries]; }
    }

    public static async Task<FakeWebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new FakeWebhookReceiver(app);
        app.MapPost("/hook", receiver.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        receiver.Url = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/') + "/hook";
        return receiver;
    }

    /// <summary>The next POSTs are answered with these statuses, in order.</summary>
    public void Enqueue(params int[] statuses)
    {
        lock (_gate) foreach (var s in statuses) _statuses.Enqueue(s);
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer).ConfigureAwait(false);
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        int status;
        TaskCompletionSource arrival;
        lock (_gate)
        {
            status = _statuses.Count > 0 ? _statuses.Dequeue() : 200;
            _deliveries.Add(new WebhookDelivery(headers, buffer.ToArray(), status, DateTimeOffset.UtcNow));
            arrival = _arrival;
            _arrival = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        http.Response.StatusCode = status;
        arrival.TrySetResult();
    }

    /// <summary>Waits until at least <paramref name="count"/> POSTs have arrived (or the timeout passes); returns them all.</summary>
    public async Task<IReadOnlyList<WebhookDelivery>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            Task next;
            lock (_gate)
            {
                if (_deliveries.Count >= count || DateTime.UtcNow > deadline) return [.. _deliveries];
                next = _arrival.Task;
            }
            await Task.WhenAny(next, Task.Delay(TimeSpan.FromMilliseconds(200))).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
