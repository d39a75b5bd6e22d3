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
public sealed class PromptCompletionsEndpoint(GatewayEngine engine, IPromptStore store, long maxBodyBytes)
{
    public const string Route = "/v1/prompts/{id}/completions";

    private static readonly string[] ControlFields = ["version", "variables", "messages"];

    public async Task HandleAsync(HttpContext http, string id)
    {
        var start = engine.Time.GetTimestamp();
        if (await AdminHttp.ReadObjectAsync(http, maxBodyBytes, fields: null).ConfigureAwait(false) is not { } body) return;
        if (body.ContainsKey("messages"))
        {
            await AdminHttp.BadRequestAsync(http, "'messages' comes from the prompt template; send 'variables' instead.", "messages").ConfigureAwait(false);
            return;
        }
        var prompt = await store.GetAsync(id, http.RequestAborted).ConfigureAwait(false);
        if (prompt is null)
        {
            await AdminHttp.NotFoundAsync(http, $"No prompt named '{id}'.", "prompt_not_found").ConfigureAwait(false);
            return;
        }
        PromptVersion? version = prompt.Latest;
        if (body["version"] is { } vNode)
        {
            version = vNode is JsonValue vv && vv.TryGetValue<int>(out var n) ? prompt.Find(n) : null;
            if (version is null)
            {
                await AdminHttp.NotFoundAsync(http, $"Prompt '{id}' has no version {vNode.ToJsonString()} (versions 1–{prompt.Latest.Version}).", "prompt_version_not_found").ConfigureAwait(false);
                return;
            }
        }
        var (variables, varError) = ReadVariables(body["variables"]);
        if (varError is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, varError).ConfigureAwait(false);
            return;
        }
        var model = AdminHttp.Text(body, "model") ?? version.Model;
        if (model is null)
        {
            await AdminHttp.BadRequestAsync(http, $"Prompt '{id}' version {version.Version} names no model; send 'model'.", "model", "missing_model").ConfigureAwait(false);
            return;
        }
        var resolved = engine.Registry.Resolve(model);
        var (template, variant) = version.Select(model, resolved?.Deployments.Count > 0 ? resolved.Deployments[0].Id : null);
        var (messages, renderError) = PromptTemplate.Render(template, variables!);
        if (renderError is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, renderError).ConfigureAwait(false);
            return;
        }
        var fields = new JsonObject();
        foreach (var (k, v) in body)
        {
            if (!ControlFields.Contains(k)) fields[k] = v?.DeepClone();
        }
        var (request, parseError) = ChatRequestParser.Parse(PromptTemplate.BuildRequest(version, messages!, model, fields));
        if (parseError is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, parseError).ConfigureAwait(false);
            return;
        }
        http.Response.Headers["x-sanjia-prompt"] = HeaderValues.Safe($"{prompt.Id}@{version.Version.ToString(CultureInfo.InvariantCulture)}");
        if (variant is not null) http.Response.Headers["x-sanjia-prompt-variant"] = HeaderValues.Safe(variant);
        var caller = http.Features.Get<Caller>() ?? Caller.Master;
        var (context, outcome) = await engine.ChatAsync(request!, caller, http.TraceIdentifier, "/v1/prompts/completions", start, http.RequestAborted).ConfigureAwait(false);
        await ChatCompletionsEndpoint.WriteOutcomeAsync(http, context, outcome).ConfigureAwait(false);
    }

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
