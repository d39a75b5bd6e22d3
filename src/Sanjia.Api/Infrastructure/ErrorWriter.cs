using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Anthropic;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Writes an error in the dialect of the route that was called, for middleware that runs before routing
/// (authentication, error handling): Anthropic's shape on <c>/v1/messages*</c>, OpenAI's everywhere else.
/// </summary>
public static class ErrorWriter
{
    public static Task WriteAsync(HttpContext context, GatewayError error) =>
        AnthropicErrorWriter.Handles(context.Request.Path)
            ? AnthropicErrorWriter.WriteAsync(context, error)
            : OpenAiErrorWriter.WriteAsync(context, error);
}
