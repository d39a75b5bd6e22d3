using System.Globalization;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Metering;

namespace Sanjia.Api.OpenAi;

/// <summary><c>POST /v1/chat/completions</c>: parse, hand to the engine, write JSON or SSE. Nothing else lives here.</summary>
public sealed class ChatCompletionsEndpoint(GatewayEngine engine, long maxBodyBytes)
{
    public const string Route = "/v1/chat/completions";

    /// <summary>The caller's per-attempt timeout in seconds, clamped to <c>Sanjia:Routing:Timeouts</c> bounds.</summary>
    public const string TimeoutHeader = "x-sanjia-timeout";
    public async Task HandleAsync(HttpContext http)
    {
        var start = engine.Time.GetTimestamp();
        var (body, readError) = await RequestBody.ReadAsync(http, maxBodyBytes).ConfigureAwait(false);
        if (readError is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, readError).ConfigureAwait(false);
            return;
        }
        var (request, parseError) = ChatRequestParser.Parse(body);
        if (parseError is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, parseError).ConfigureAwait(false);
            return;
        }
        if (http.Request.Headers[TimeoutHeader].ToString() is { Length: > 0 } timeoutText)
        {
            if (!double.TryParse(timeoutText, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds > 0) || double.IsInfinity(seconds))
            {
                await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid(
                    $"The header '{TimeoutHeader}' must be a positive number of seconds, not '{timeoutText}'.", TimeoutHeader, "invalid_timeout")).ConfigureAwait(false);
                return;
            }
            request!.RequestedTimeout = TimeSpan.FromSeconds(seconds);
        }
        var caller = http.Features.Get<Caller>() ?? Caller.Master;
        var (context, outcome) = await engine.ChatAsync(request!, caller, http.TraceIdentifier, Route, start, http.RequestAborted).ConfigureAwait(false);
        await WriteOutcomeAsync(http, context, outcome).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the engine's answer: route headers, then the error, the JSON body or the SSE stream. The cost metering
    /// recorded (<see cref="ChatContext.Cost"/>) goes into the <c>x-sanjia-cost</c> headers and the body's
    /// <c>usage</c>; a stream's usage chunk gets it in the <see cref="SseWriter"/>.
    /// </summary>
    internal static async Task WriteOutcomeAsync(HttpContext http, ChatContext? context, ChatOutcome outcome)
    {
        if (context is not null)
        {
            WriteRouteHeaders(http.Response, context);
        }
        switch (outcome.Response)
        {
            case null:
                await OpenAiErrorWriter.WriteAsync(http, outcome.Error!).ConfigureAwait(false);
                return;
            case CompleteChatResponse complete:
                http.Response.ContentType = "application/json";
                await WriteBodyAsync(http, complete.Body, complete.UsageEnd, context?.Cost).ConfigureAwait(false);
                await complete.DisposeAsync().ConfigureAwait(false);
                return;
            case StreamingChatResponse stream:
                await using (stream.ConfigureAwait(false))
                {
                    await SseWriter.WriteAsync(http, stream, context).ConfigureAwait(false);
                }
                return;
        }
    }

    /// <summary>
    /// Writes a complete JSON answer; with a cost, the <c>x-sanjia-cost</c> headers and the same cost in its <c>usage</c>
    /// object (<paramref name="usageEnd"/>: where that object closes, -1 = find it).
    /// </summary>
    internal static async Task WriteBodyAsync(HttpContext http, ReadOnlyMemory<byte> body, int usageEnd, Cost? cost)
    {
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

    /// <summary><c>x-sanjia-cost</c>: the request's cost as a decimal string, or <c>unpriced</c>; plus its currency.</summary>
    internal static void WriteCostHeaders(HttpResponse response, Cost cost)
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

    internal static void WriteRouteHeaders(HttpResponse response, ChatContext context)
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
    }
}
