using Microsoft.Extensions.DependencyInjection;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Admin;
using Sanjia.Api.Infrastructure;
using Sanjia.Api.OpenAi;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Prompts;

namespace Sanjia.Api.Prompts;

/// <summary>
/// <c>POST /v1/prompts/{id}/completions</c> (any key): renders a library prompt and runs it through the engine like
/// any chat request (routing, fallbacks, metering). Body: <c>version</c> (default latest), <c>variables</c>,
/// <c>model</c> (default the version's), and any other Chat Completions field (<c>stream</c>, <c>max_tokens</c>...).
/// The answer is a normal chat completion (or SSE stream) with <c>x-sanjia-prompt</c> = <c>id@version</c> and, when a
/// per-model variant was used, <c>x-sanjia-prompt-variant</c>.
/// </summary>
public sealed class PromptCompletionsEndpoint(GatewayEngine engine, IPromptStore store, long maxBodyBytes) : ChatCompletionsEndpoint(engine, maxBodyBytes)
{
    public new const string Route = "/v1/prompts/{id}/completions";

    private static readonly string[] ControlFields = ["version", "variables", "messages"];

    protected override string LedgerRoute => "/v1/prompts/completions";

    /// <summary>The rendered prompt as a chat request; sets <c>x-sanjia-prompt</c> (and the variant) once it is known.</summary>
    protected override async ValueTask<(ChatRequest? Request, None State, GatewayError? Error)> ParseAsync(HttpContext http, ReadOnlyMemory<byte> json)
    {
        var id = (string)http.Request.RouteValues["id"]!;
        JsonObject body;
        try
        {
            if (JsonNode.Parse(json.Span) is not JsonObject o)
            {
                return Refuse(GatewayError.Invalid("The request body must be a JSON object.", code: "invalid_json"));
            }
            body = o;
        }
        catch (JsonException e)
        {
            return Refuse(GatewayError.Invalid($"The request body is not valid JSON: {e.Message}", code: "invalid_json"));
        }
        if (body.ContainsKey("messages"))
        {
            return Refuse(GatewayError.Invalid("'messages' comes from the prompt template; send 'variables' instead.", "messages", "invalid_request"));
        }
        var prompt = await store.GetAsync(id, http.RequestAborted).ConfigureAwait(false);
        if (prompt is null)
        {
            return Refuse(NotFound($"No prompt named '{id}'.", "prompt_not_found"));
        }
        PromptVersion? version = prompt.Latest;
        if (body["version"] is { } vNode)
        {
            version = vNode is JsonValue vv && vv.TryGetValue<int>(out var n) ? prompt.Find(n) : null;
            if (version is null)
            {
                return Refuse(NotFound($"Prompt '{id}' has no version {vNode.ToJsonString()} (versions 1–{prompt.Latest.Version}).", "prompt_version_not_found"));
            }
        }
        var (variables, varError) = ReadVariables(body["variables"]);
        if (varError is not null)
        {
            return Refuse(varError);
        }
        var model = AdminHttp.Text(body, "model") ?? version.Model;
        if (model is null)
        {
            return Refuse(GatewayError.Invalid($"Prompt '{id}' version {version.Version} names no model; send 'model'.", "model", "missing_model"));
        }
        var resolved = Engine.Registry.Resolve(model);
        var (template, variant) = version.Select(model, resolved?.Deployments.Count > 0 ? resolved.Deployments[0].Id : null);
        var (messages, renderError) = PromptTemplate.Render(template, variables!);
        if (renderError is not null)
        {
            return Refuse(renderError);
        }
        var fields = new JsonObject();
        foreach (var (k, v) in body)
        {
            if (!ControlFields.Contains(k)) fields[k] = v?.DeepClone();
        }
        var (request, parseError) = ChatRequestParser.Parse(PromptTemplate.BuildRequest(version, messages!, model, fields));
        if (parseError is not null)
        {
            return Refuse(parseError);
        }
        http.Response.Headers["x-sanjia-prompt"] = HeaderValues.Safe($"{prompt.Id}@{version.Version.ToString(CultureInfo.InvariantCulture)}");
        if (variant is not null) http.Response.Headers["x-sanjia-prompt-variant"] = HeaderValues.Safe(variant);
        return (request, default, null);
    }

    private static (ChatRequest?, None, GatewayError?) Refuse(GatewayError error) => (null, default, error);

    private static GatewayError NotFound(string message, string code) => new(GatewayErrorKind.ModelNotFound, message) { Code = code };

    /// <summary>Variables as text: strings as they are, numbers and booleans in invariant form.</summary>
    internal static (Dictionary<string, string>? Values, GatewayError? Error) ReadVariables(JsonNode? node)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null) return (values, null);
        if (node is not JsonObject o) return (null, GatewayError.Invalid("'variables' must be an object of name → value.", "variables"));
        foreach (var (k, v) in o)
        {
            if (v is not JsonValue value || value.GetValueKind() is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null)
            {
                return (null, GatewayError.Invalid($"'variables.{k}' must be text, a number or a boolean.", $"variables.{k}"));
            }
            values[k] = value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
        }
        return (values, null);
    }
}
