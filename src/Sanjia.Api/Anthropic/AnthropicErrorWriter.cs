using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Translation;

namespace Sanjia.Api.Anthropic;

/// <summary>Writes a <see cref="GatewayError"/> in Anthropic's shape: <c>{"type":"error","error":{"type","message"},"request_id"}</c>.</summary>
public static class AnthropicErrorWriter
{
    public static Task WriteAsync(HttpContext context, GatewayError error) =>
        OpenAiErrorWriter.WriteAsync(context, error, AnthropicJson.Error(error, context.TraceIdentifier), ErrorStatus.ForAnthropic(error));
}
