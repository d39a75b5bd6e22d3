using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace Sanjia.Api.Health;

/// <summary>What a dependency check found: whether it works, and a short reason or figure when that helps.</summary>
public readonly record struct DependencyState(bool Ok, string? Detail = null, long? Pending = null);

/// <summary>
/// One dependency <c>/health/ready</c> reports (PostgreSQL, Redis, the ledger journal), registered by the composition
/// root for what is configured. <see cref="Local"/>: a failure is this instance's own (its journal), so it answers
/// 503 and a load balancer sends traffic elsewhere; a shared dependency's failure is every instance's, so it is
/// reported ("degraded") without taking them all out: each feature then behaves as documented for it.
/// </summary>
public sealed record DependencyProbe(string Name, bool Local, Func<CancellationToken, Task<DependencyState>> CheckAsync);

/// <summary>
/// Unauthenticated probes: live = the process serves HTTP; ready = start-up finished, not shutting down, and each
/// dependency's state (checked in parallel, each within 2 s).
/// </summary>
public sealed class HealthEndpoints(IHostApplicationLifetime lifetime, IReadOnlyList<DependencyProbe> probes)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public static Task LiveAsync(HttpContext http) => Write(http, 200, "{\"status\":\"live\"}"u8.ToArray());

    public async Task ReadyAsync(HttpContext http)
    {
        var ready = lifetime.ApplicationStarted.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested;
        if (!ready)
        {
            await Write(http, 503, "{\"status\":\"starting\"}"u8.ToArray()).ConfigureAwait(false);
            return;
        }
        if (probes.Count == 0)
        {
            await Write(http, 200, "{\"status\":\"ready\"}"u8.ToArray()).ConfigureAwait(false);
            return;
        }
        var states = await Task.WhenAll(probes.Select(p => CheckAsync(p, http.RequestAborted))).ConfigureAwait(false);
        var localDown = false;
        var degraded = false;
        for (var i = 0; i < probes.Count; i++)
        {
            if (states[i].Ok) continue;
            if (probes[i].Local) localDown = true;
            else degraded = true;
        }
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("status", localDown ? "unavailable" : degraded ? "degraded" : "ready");
            w.WriteStartObject("dependencies");
            for (var i = 0; i < probes.Count; i++)
            {
                w.WriteStartObject(probes[i].Name);
                w.WriteString("status", states[i].Ok ? "ok" : "failing");
                if (states[i].Detail is { } detail) w.WriteString("detail", detail);
                if (states[i].Pending is { } pending) w.WriteNumber("pending", pending);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        await Write(http, localDown ? 503 : 200, buffer.ToArray()).ConfigureAwait(false);
    }

    private static async Task<DependencyState> CheckAsync(DependencyProbe probe, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            return await probe.CheckAsync(timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DependencyState(false, $"no answer within {ProbeTimeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new DependencyState(false, ex.Message.Split('\n')[0]);
        }
    }

    private static Task Write(HttpContext http, int status, byte[] body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        return http.Response.Body.WriteAsync(body, http.RequestAborted).AsTask();
    }
}
