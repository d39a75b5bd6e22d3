using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Json;

namespace Sanjia.Api.Admin;

/// <summary>
/// What every admin endpoint needs: a JSON object body, JSON answers, not-found errors. Who may call them is the
/// admin route group's metadata (<see cref="RouteAccess.Admin"/>), checked by authentication.
/// </summary>
public static class AdminHttp
{
    /// <summary>
    /// Reads the body as a JSON object; writes the error and returns null when it is not one, or when it has a field
    /// outside <paramref name="fields"/> (null only for non-admin routes, which follow OpenAI in ignoring extras).
    /// </summary>
    public static async ValueTask<JsonObject?> ReadObjectAsync(HttpContext http, long limit, AdminFields? fields)
    {
        var (body, error) = await RequestBody.ReadAsync(http, limit).ConfigureAwait(false);
        if (error is null)
        {
            try
            {
                if (JsonNode.Parse(body.Span) is JsonObject o)
                {
                    error = fields?.Check(o.Select(p => p.Key));
                    if (error is null) return o;
                }
                else
                {
                    error = GatewayError.Invalid("The request body must be a JSON object.", code: "invalid_json");
                }
            }
            catch (JsonException e)
            {
                error = GatewayError.Invalid($"The request body is not valid JSON: {e.Message}", code: "invalid_json");
            }
        }
        await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
        return null;
    }

    public static Task WriteErrorAsync(HttpContext http, GatewayError error) => OpenAiErrorWriter.WriteAsync(http, error);

    public static Task BadRequestAsync(HttpContext http, string message, string? param = null, string code = "invalid_request") =>
        OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid(message, param, code));

    public static Task NotFoundAsync(HttpContext http, string message, string code) =>
        OpenAiErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.ModelNotFound, message) { Code = code });

    public static async Task WriteJsonAsync(HttpContext http, JsonNode body, int status = StatusCodes.Status200OK)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString(SanjiaJson.Serializer), http.RequestAborted).ConfigureAwait(false);
    }

    public static string? Text(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static int? Int(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
}
