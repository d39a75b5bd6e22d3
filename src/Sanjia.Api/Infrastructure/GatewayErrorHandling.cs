using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Assigns the request id (returned as <c>x-request-id</c>) and turns anything unexpected into an OpenAI-shaped
/// error without a stack trace, so one bad request never takes the process down or leaks internals.
/// </summary>
public sealed partial class GatewayErrorHandling(RequestDelegate next, ILogger<GatewayErrorHandling> logger)
{
    public const string RequestIdHeader = "x-request-id";

    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = RequestIds.New(DateTimeOffset.UtcNow);
        context.TraceIdentifier = requestId;
        context.Response.Headers[RequestIdHeader] = requestId;
        try
        {
            await next(context).ConfigureAwait(false);
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

    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled error in request {RequestId}")]
    private static partial void LogUnhandled(ILogger logger, Exception ex, string requestId);
}
