using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace Sanjia.Api.Health;

/// <summary>Unauthenticated probes: live = the process serves HTTP; ready = start-up finished and not shutting down.</summary>
public sealed class HealthEndpoints(IHostApplicationLifetime lifetime)
{
    public static Task LiveAsync(HttpContext http) => Write(http, 200, "{\"status\":\"live\"}"u8.ToArray());

    public Task ReadyAsync(HttpContext http)
    {
        var ready = lifetime.ApplicationStarted.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested;
        return ready
            ? Write(http, 200, "{\"status\":\"ready\"}"u8.ToArray())
            : Write(http, 503, "{\"status\":\"starting\"}"u8.ToArray());
    }

    private static Task Write(HttpContext http, int status, byte[] body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        return http.Response.Body.WriteAsync(body, http.RequestAborted).AsTask();
    }
}
