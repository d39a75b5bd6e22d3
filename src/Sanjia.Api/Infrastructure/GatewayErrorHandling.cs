using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Assigns the request id (returned as <c>x-request-id</c>), refuses oversized headers (431) and URLs (414) with a
/// JSON body, turns anything unexpected into an error in the caller's protocol without a stack trace (one bad request never
/// takes the process down or leaks internals), and after a 413 reads the rest of the body so the client gets to read
/// the answer (<see cref="RequestBody"/>).
/// </summary>
public sealed partial class GatewayErrorHandling(RequestDelegate next, ILogger<GatewayErrorHandling> logger)
{
    public const string RequestIdHeader = "x-request-id";

    /// <summary>
    /// Header limits, checked here so that the 431 carries a JSON error (Kestrel's own 431 has no body): 32 KiB of
    /// names and values and 100 headers, Kestrel's defaults. Kestrel's limits are set to <see cref="KestrelHeaderBytes"/>
    /// and <see cref="KestrelHeaderCount"/>, above them; only what exceeds those gets Kestrel's bare 431.
    /// </summary>
    public const int MaxHeaderBytes = 32 * 1024, MaxHeaderCount = 100;
    public const int KestrelHeaderBytes = 256 * 1024, KestrelHeaderCount = 1000;

    /// <summary>
    /// The request target's limit, checked here for the same reason (Kestrel's own 414 has no body): 8 KiB of path and
    /// query, about Kestrel's default request line. Kestrel's request line limit is set to <see cref="KestrelRequestLineBytes"/>.
    /// </summary>
    public const int MaxTargetChars = 8 * 1024, KestrelRequestLineBytes = 64 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = RequestIds.New(DateTimeOffset.UtcNow);
        context.TraceIdentifier = requestId;
        context.Response.Headers[RequestIdHeader] = requestId;
        try
        {
            if ((TargetTooLong(context.Request) ?? HeadersTooLarge(context.Request.Headers)) is { } tooLarge)
            {
                await ErrorWriter.WriteAsync(context, tooLarge).ConfigureAwait(false);
                return;
            }
            await next(context).ConfigureAwait(false);
            if (context.Features.Get<RequestBody.DrainAfterResponse>() is { } drain)
            {
                await drain.RunAsync(context).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (BadHttpRequestException ex)
        {
            if (!context.Response.HasStarted)
            {
                var error = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? new GatewayError(GatewayErrorKind.PayloadTooLarge, "The request body is too large.") { Code = "request_too_large" }
                    : GatewayError.Invalid("The HTTP request was malformed: " + ex.Message);
                await ErrorWriter.WriteAsync(context, error).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            LogUnhandled(logger, ex, requestId);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.Headers[RequestIdHeader] = requestId;
                await ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.Internal,
                    $"The gateway failed to process the request (request id {requestId}).") { Code = "internal_error" }).ConfigureAwait(false);
            }
            else
            {
                context.Abort();
            }
        }
    }

    /// <summary>Two string lengths: the path and query as Kestrel already decoded them.</summary>
    private static GatewayError? TargetTooLong(HttpRequest request)
    {
        var chars = (request.Path.Value?.Length ?? 0) + (request.QueryString.Value?.Length ?? 0);
        return chars <= MaxTargetChars ? null : new GatewayError(GatewayErrorKind.UriTooLong,
            $"The request URL is too long: {chars} characters of path and query; the limit is {MaxTargetChars}. Send large values in the body.")
        { Code = "request_uri_too_long" };
    }

    private static GatewayError? HeadersTooLarge(IHeaderDictionary headers)
    {
        var count = 0;
        var bytes = 0;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                count++;
                bytes += name.Length + (value?.Length ?? 0) + 4; // "name: value\r\n"
            }
        }
        if (count <= MaxHeaderCount && bytes <= MaxHeaderBytes)
        {
            return null;
        }
        return new GatewayError(GatewayErrorKind.HeadersTooLarge,
            $"The request headers are too large: {count} headers, {bytes} bytes; the limits are {MaxHeaderCount} headers and {MaxHeaderBytes} bytes.")
        { Code = "request_header_fields_too_large" };
    }

    [LoggerMessage(EventId = LogEvents.UnhandledRequestError, Level = LogLevel.Error, Message = "Unhandled error in request {RequestId}")]
    private static partial void LogUnhandled(ILogger logger, Exception ex, string requestId);
}
