using System.Globalization;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Translation;

namespace Sanjia.Api.Anthropic;

/// <summary>Writes a <see cref="GatewayError"/> in Anthropic's shape: <c>{"type":"error","error":{"type","message"},"request_id"}</c>.</summary>
public static class AnthropicErrorWriter
{
    /// <summary>Routes whose failures are reported in Anthropic's dialect.</summary>
    public static bool Handles(PathString path) => path.StartsWithSegments("/v1/messages", StringComparison.OrdinalIgnoreCase);

    public static Task WriteAsync(HttpContext context, GatewayError error)
    {
        var response = context.Response;
        response.StatusCode = ErrorStatus.For(error);
        response.ContentType = "application/json";
        if (error.RetryAfter is { } retry)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        var body = AnthropicJson.Error(error, context.TraceIdentifier);
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
