using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Api.Infrastructure;

/// <summary>Writes a <see cref="GatewayError"/> in OpenAI's shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public static class OpenAiErrorWriter
{

    public static string TypeFor(GatewayErrorKind kind) => kind switch
    {
        GatewayErrorKind.InvalidRequest or GatewayErrorKind.PayloadTooLarge or GatewayErrorKind.HeadersTooLarge or GatewayErrorKind.UriTooLong or GatewayErrorKind.ModelNotFound or GatewayErrorKind.UpstreamRejected => "invalid_request_error",
        GatewayErrorKind.Authentication => "authentication_error",
        GatewayErrorKind.PermissionDenied => "permission_error",
        GatewayErrorKind.RateLimited or GatewayErrorKind.Overloaded => "rate_limit_error",
        GatewayErrorKind.BudgetExceeded => "insufficient_quota",
        GatewayErrorKind.UpstreamFailed or GatewayErrorKind.UpstreamUnreachable => "upstream_error",
        GatewayErrorKind.UpstreamTimeout => "timeout_error",
        GatewayErrorKind.UpstreamOverloaded => "server_error",
        _ => "server_error",
    };

    public static byte[] Serialize(GatewayError error)
    {
        using var buffer = new MemoryStream(256);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error"u8);
            w.WriteString("message"u8, error.Message);
            w.WriteString("type"u8, TypeFor(error.Kind));
            if (error.Param is null) w.WriteNull("param"u8); else w.WriteString("param"u8, error.Param);
            if (error.Code is null) w.WriteNull("code"u8); else w.WriteString("code"u8, error.Code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static Task WriteAsync(HttpContext context, GatewayError error) => WriteAsync(context, error, Serialize(error));

    /// <summary>
    /// Answers <paramref name="error"/> with its status (<see cref="ErrorStatus.For"/>), <c>Retry-After</c> when it has
    /// one, and <paramref name="body"/>: the error already serialised in the caller's protocol.
    /// </summary>
    public static Task WriteAsync(HttpContext context, GatewayError error, byte[] body, int? status = null)
    {
        var response = context.Response;
        response.StatusCode = status ?? ErrorStatus.For(error);
        response.ContentType = "application/json";
        if (error.RetryAfter is { } retry)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
