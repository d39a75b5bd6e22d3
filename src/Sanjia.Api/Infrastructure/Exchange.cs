using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Metering;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// The steps every model endpoint shares, in the order <see cref="ChatEndpoint{TState}"/> runs them: read the body,
/// apply the caller's <c>x-sanjia-timeout</c>, name the caller, and write the answer with its route and cost headers.
/// Errors go out in the route's dialect (<see cref="ErrorWriter"/>).
/// </summary>
public static class Exchange
{
    /// <summary>The caller's per-attempt timeout in seconds, clamped to <c>Sanjia:Routing:Timeouts</c> bounds.</summary>
    public const string TimeoutHeader = "x-sanjia-timeout";

    /// <summary>The whole body, or null once the refusal (413, 400) has been written.</summary>
    public static async ValueTask<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpContext http, long maxBodyBytes)
    {
        var (body, error) = await RequestBody.ReadAsync(http, maxBodyBytes).ConfigureAwait(false);
        if (error is null)
        {
            return body;
        }
        await ErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// The JSON body of a model call that is not a chat (embeddings, images; chat has its own one-pass parser): an
    /// object with a valid <c>model</c>, or the 400 saying what is wrong. The caller disposes <paramref name="doc"/>.
    /// </summary>
    public static GatewayError? ParseModelRequest(ReadOnlyMemory<byte> body, out JsonDocument doc, out string model)
    {
        doc = null!;
        model = "";
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return JsonNesting.TooDeep(body.Span) ?? GatewayError.Invalid("We could not parse the JSON body of your request. Send a valid JSON object.", code: "invalid_json");
        }
        var root = doc.RootElement;
        var error = root.ValueKind != JsonValueKind.Object
            ? GatewayError.Invalid("The request body must be a JSON object.", code: "invalid_json")
            : !root.TryGetProperty("model", out var m) || m.ValueKind != JsonValueKind.String || m.GetString() is not { Length: > 0 } name
                ? GatewayError.Invalid("You must provide a model parameter.", "model", "missing_required_parameter")
                : ChatRequestParser.ModelIdError(model = name);
        if (error is not null) doc.Dispose();
        return error;
    }

    /// <summary>Who is calling: set by authentication (<see cref="ApiKeyAuthentication"/>).</summary>
    public static Caller CallerOf(HttpContext http) => http.Features.Get<Caller>() ?? Caller.Master;

    /// <summary>Applies <see cref="TimeoutHeader"/> to a chat <paramref name="request"/>; the 400 when its value is not a positive number.</summary>
    public static GatewayError? ApplyTimeout(HttpContext http, ChatRequest request)
    {
        var error = ReadTimeout(http, out var timeout);
        if (timeout is not null) request.RequestedTimeout = timeout;
        return error;
    }

    /// <summary>Applies <see cref="TimeoutHeader"/> to an embeddings <paramref name="request"/>: the same parse and 400 as for a chat.</summary>
    public static GatewayError? ApplyTimeout(HttpContext http, EmbeddingRequest request)
    {
        var error = ReadTimeout(http, out var timeout);
        if (timeout is not null) request.RequestedTimeout = timeout;
        return error;
    }

    /// <summary>Applies <see cref="TimeoutHeader"/> to an image <paramref name="request"/>: the same parse and 400 as for a chat.</summary>
    public static GatewayError? ApplyTimeout(HttpContext http, ImageRequest request)
    {
        var error = ReadTimeout(http, out var timeout);
        if (timeout is not null) request.RequestedTimeout = timeout;
        return error;
    }

    /// <summary>The one parse of <see cref="TimeoutHeader"/>: absent = no timeout; anything but a positive, finite number of seconds = the 400.</summary>
    private static GatewayError? ReadTimeout(HttpContext http, out TimeSpan? timeout)
    {
        timeout = null;
        if (http.Request.Headers[TimeoutHeader].ToString() is not { Length: > 0 } text)
        {
            return null;
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds > 0) || double.IsInfinity(seconds))
        {
            return GatewayError.Invalid($"The header '{TimeoutHeader}' must be a positive number of seconds, not '{text}'.", TimeoutHeader, "invalid_timeout");
        }
        timeout = TimeSpan.FromSeconds(seconds);
        return null;
    }

    /// <summary>
    /// Writes a complete JSON answer; with a cost, the <c>x-sanjia-cost</c> headers and the same cost in its <c>usage</c>
    /// object (<paramref name="usageEnd"/>: where that object closes, -1 = find it).
    /// </summary>
    public static async Task WriteBodyAsync(HttpContext http, ReadOnlyMemory<byte> body, int usageEnd, Cost? cost)
    {
        http.Response.ContentType = "application/json";
        if (cost is not { } c)
        {
            http.Response.ContentLength = body.Length;
            await http.Response.Body.WriteAsync(body, http.RequestAborted).ConfigureAwait(false);
            return;
        }
        WriteCostHeaders(http.Response, c);
        if (usageEnd < 0) usageEnd = UsageCost.FindUsageEnd(body.Span);
        if (usageEnd < 0)
        {
            http.Response.ContentLength = body.Length;
            await http.Response.Body.WriteAsync(body, http.RequestAborted).ConfigureAwait(false);
            return;
        }
        http.Response.ContentLength = UsageCost.Length(body.Span, usageEnd, c);
        UsageCost.Write(http.Response.BodyWriter, body.Span, usageEnd, c);
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The end of a complete answer whose body is not rewritten (embeddings, images: megabytes of vectors or base64,
    /// so the cost goes in the headers only): route and cost headers, then the error in the route's dialect or the body.
    /// </summary>
    public static async Task WriteCompleteAsync(HttpContext http, CallContext? context, GatewayError? error, ReadOnlyMemory<byte> body)
    {
        if (context is not null)
        {
            WriteRouteHeaders(http.Response, context);
            if (context.Cost is { } cost) WriteCostHeaders(http.Response, cost);
        }
        if (error is not null)
        {
            await ErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = body.Length;
        await http.Response.Body.WriteAsync(body, http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary><c>x-sanjia-cost</c>: the request's cost as a decimal string, or <c>unpriced</c>; plus its currency.</summary>
    public static void WriteCostHeaders(HttpResponse response, Cost cost)
    {
        if (cost.Amount is { } amount)
        {
            response.Headers["x-sanjia-cost"] = amount.ToString(CultureInfo.InvariantCulture);
            response.Headers["x-sanjia-cost-currency"] = cost.Currency;
        }
        else
        {
            response.Headers["x-sanjia-cost"] = "unpriced";
        }
    }

    /// <summary>
    /// <c>x-sanjia-deployment</c>, <c>-attempts</c>, <c>-fallbacks</c>, <c>-retries</c> and <c>-route</c>: how the engine
    /// served the request; and the key's <c>x-ratelimit-*</c> headers when it has limits (<see cref="RateLimitHeaders"/>).
    /// </summary>
    public static void WriteRouteHeaders(HttpResponse response, CallContext context)
    {
        var headers = response.Headers;
        if (context.Deployment is { } d)
        {
            headers["x-sanjia-deployment"] = HeaderValues.Safe(d.Id);
        }
        headers["x-sanjia-attempts"] = context.Attempts.ToString(CultureInfo.InvariantCulture);
        headers["x-sanjia-fallbacks"] = context.Fallbacks.ToString(CultureInfo.InvariantCulture);
        headers["x-sanjia-retries"] = context.Retries.ToString(CultureInfo.InvariantCulture);
        if (context.Route.Count > 0)
        {
            headers["x-sanjia-route"] = HeaderValues.Safe(string.Join(" -> ", context.Route));
        }
        if (context.CacheStatus != Core.Caching.CacheStatus.None)
        {
            headers["x-sanjia-cache"] = context.CacheStatus switch
            {
                Core.Caching.CacheStatus.Hit => "hit",
                Core.Caching.CacheStatus.Miss => "miss",
                _ => "bypass",
            };
            if (context.CacheHit?.Similarity is { } similarity)
            {
                headers["x-sanjia-cache-similarity"] = similarity.ToString("0.000", CultureInfo.InvariantCulture);
            }
        }
        if (context.RateLimits is { } limits)
        {
            RateLimitHeaders.Write(headers, limits);
        }
    }
}
