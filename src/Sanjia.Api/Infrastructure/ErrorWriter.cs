using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Writes an error in the dialect of the route that was called (<see cref="ErrorDialect"/>, endpoint metadata):
/// Anthropic's shape on the Messages routes, OpenAI's everywhere else. Routing runs first, so this holds for the
/// middleware too (authentication, error handling).
/// </summary>
public static class ErrorWriter
{
    public static Task WriteAsync(HttpContext context, GatewayError error) => ErrorDialect.Of(context).WriteAsync(context, error);
}
