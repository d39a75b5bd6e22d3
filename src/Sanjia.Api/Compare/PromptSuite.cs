using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Core.Models;
using Sanjia.Core.Prompts;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Api.Compare;

/// <summary>
/// A suite made from a library prompt and cases of variables: each case's messages are the prompt's default
/// messages rendered with its variables, and a runner decorator swaps in the rendered per-model variant for models
/// that have one, so each model is judged on the prompt it would really get.
/// </summary>
public static class PromptSuite
{
    /// <param name="source"><c>{"id", "version"?, "cases": [{"id"?, "vars", "expected"?, "graders"?}], "graders"?}</c></param>
    public static async Task<(EvalSuite Suite, Func<IModelRunner, IModelRunner> Decorate)> BuildAsync(
        JsonObject source, IPromptStore store, ModelRegistry registry, IReadOnlyList<string> models, CancellationToken ct)
    {
        var id = source["id"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new SuiteFormatException("prompt.id: required.");
        var prompt = await store.GetAsync(id, ct).ConfigureAwait(false) ?? throw new SuiteFormatException($"prompt.id: no prompt named '{id}'.");
        var version = prompt.Latest;
        if (source["version"] is JsonValue vv)
        {
            version = (vv.TryGetValue<int>(out var n) ? prompt.Find(n) : null)
                ?? throw new SuiteFormatException($"prompt.version: prompt '{id}' has no version {vv.ToJsonString()}.");
        }
        if (source["cases"] is not JsonArray cases || cases.Count == 0) throw new SuiteFormatException("prompt.cases: give at least one case of variables.");

        var suiteCases = new JsonArray();
        var variants = new Dictionary<(string Model, string Key), IReadOnlyList<EvalMessage>>();
        for (var i = 0; i < cases.Count; i++)
        {
            if (cases[i] is not JsonObject c) throw new SuiteFormatException($"prompt.cases[{i}]: must be an object.");
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            if (c["vars"] is JsonObject vars)
            {
                foreach (var (k, value) in vars) values[k] = value is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : value?.ToJsonString() ?? "";
            }
            var (messages, error) = PromptTemplate.Render(version.Messages, values);
            if (error is not null) throw new SuiteFormatException($"prompt.cases[{i}]: {error.Message}");
            var key = Key(messages!);
            foreach (var model in models)
            {
                var resolved = registry.Resolve(model);
                var (template, variant) = version.Select(model, resolved?.Deployments.Count > 0 ? resolved.Deployments[0].Id : null);
                if (variant is null) continue;
                var (rendered, variantError) = PromptTemplate.Render(template, values);
                if (variantError is not null) throw new SuiteFormatException($"prompt.cases[{i}] (variant {variant}): {variantError.Message}");
                variants[(model, key)] = [.. rendered!.Select(m => new EvalMessage(m.Role, m.Content))];
            }
            var suiteCase = new JsonObject
            {
                ["messages"] = new JsonArray([.. messages!.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
            };
            foreach (var field in new[] { "id", "expected", "graders" })
            {
                if (c[field] is { } f) suiteCase[field] = f.DeepClone();
            }
            suiteCases.Add(suiteCase);
        }
        var root = new JsonObject
        {
            ["name"] = $"{prompt.Id}@{version.Version}",
            ["cases"] = suiteCases,
        };
        if (version.Defaults is { } d) root["defaults"] = d.DeepClone();
        if (source["graders"] is { } g) root["graders"] = g.DeepClone();
        var suite = SuiteLoader.FromJson(root.ToJsonString(), "prompt", root["name"]!.GetValue<string>());
        return (suite, inner => variants.Count == 0 ? inner : new VariantRunner(inner, variants));
    }

    private static string Key(IEnumerable<PromptMessage> messages) => JsonSerializer.Serialize(messages.Select(m => new[] { m.Role, m.Content }));

    private static string Key(IEnumerable<EvalMessage> messages) => JsonSerializer.Serialize(messages.Select(m => new[] { m.Role, m.Content }));

    private sealed class VariantRunner(IModelRunner inner, Dictionary<(string Model, string Key), IReadOnlyList<EvalMessage>> variants) : IModelRunner
    {
        public Task<ModelCall> ChatAsync(ModelRequest request, CancellationToken cancellationToken) =>
            inner.ChatAsync(variants.TryGetValue((request.Model, Key(request.Messages)), out var messages) ? request with { Messages = messages } : request, cancellationToken);

        public Task<(IReadOnlyList<float[]>? Vectors, string? Error)> EmbedAsync(string model, IReadOnlyList<string> inputs, CancellationToken cancellationToken) =>
            inner.EmbedAsync(model, inputs, cancellationToken);
    }
}
