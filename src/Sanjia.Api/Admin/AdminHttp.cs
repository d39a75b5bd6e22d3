using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.Admin;

/// <summary>What every admin endpoint needs: the master-key check, a JSON object body, JSON answers, not-found errors.</summary>
public static class AdminHttp
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = false };

    /// <summary>True for the master key; otherwise writes 403 and returns false. (Authentication already required a key.)</summary>
    public static async ValueTask<bool> RequireMasterAsync(HttpContext http)
    {
        if (http.Features.Get<Caller>() is { IsMaster: true })
        {
            return true;
        }
        await OpenAiErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.PermissionDenied,
            $"Only the master key may use {http.Request.Path}.") { Code = "master_key_required" }).ConfigureAwait(false);
        return false;
    }

    /// <summary>Reads the body as a JSON object; writes the error and returns null when it is not one.</summary>
    public static async ValueTask<JsonObject?> ReadObjectAsync(HttpContext http, long limit)
    {
        var (body, error) = await RequestBody.ReadAsync(http, limit).ConfigureAwait(false);
        if (error is null)
        {
            try
            {
                if (JsonNode.Parse(body.Span) is JsonObject o) return o;
                error = GatewayError.Invalid("The request body must be a JSON object.", code: "invalid_json");
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
        await http.Response.WriteAsync(body.ToJsonString(Indented), http.RequestAborted).ConfigureAwait(false);
    }

    public static string? Text(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static int? Int(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
}
