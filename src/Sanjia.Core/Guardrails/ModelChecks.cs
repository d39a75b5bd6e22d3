using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Guardrails;

/// <summary>
/// A check that asks a model behind the gateway (<see cref="TopicCheck"/>, <see cref="GuardModelCheck"/>). Its calls go
/// through the engine like any call (routed, metered, under the key id <c>guard:&lt;policy&gt;</c> and the endpoint
/// <c>/guard</c>), within <see cref="Timeout"/>; when the model fails or is late the policy fails open (the request
/// goes on, logged) or closed (503 <c>guardrail_unavailable</c>), as configured.
/// </summary>
internal abstract class ModelCheck(string policy, GuardrailAction action, TimeSpan timeout, bool failOpen)
{
    /// <summary>The endpoint the checks' own calls are recorded under.</summary>
    public const string Endpoint = "/guard";

    private const string KeyPrefix = "guard:";

    public string Policy { get; } = policy;
    public GuardrailAction Action { get; } = action;
    public TimeSpan Timeout { get; } = timeout;
    public bool FailOpen { get; } = failOpen;

    /// <summary>The rule id a failure is reported under.</summary>
    public abstract string RuleId { get; }

    /// <summary>The key id the checks' ledger rows carry, so spend reports show them apart from callers'.</summary>
    public static string KeyIdOf(string policy) => KeyPrefix + policy;

    /// <summary>Whether a call is a check's own (no guardrail runs on it: a policy must not check its own guard).</summary>
    public static bool IsCheckCall(Caller caller) => caller.IsMaster && caller.KeyId is { } id && id.StartsWith(KeyPrefix, StringComparison.Ordinal);

    /// <summary>The rule id that matched (null: none). Throws <see cref="ModelCheckFailedException"/> with a reason that holds no prompt text.</summary>
    protected abstract ValueTask<string?> JudgeAsync(GatewayEngine engine, CallContext context, IReadOnlyList<string> texts, BodyShape shape, CancellationToken cancellationToken);

    /// <summary>Runs the check within its timeout: the matched rule id, or the reason it could not decide.</summary>
    public async ValueTask<(string? Rule, string? Failure)> RunAsync(GatewayEngine? engine, CallContext context, IReadOnlyList<string> texts, BodyShape shape, CancellationToken cancellationToken)
    {
        if (engine is null) return (null, "no engine to call the model through");
        using var timer = new CancellationTokenSource(Timeout, engine.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            return (await JudgeAsync(engine, context, texts, shape, linked.Token).ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return (null, TimedOut);
        }
        catch (ModelCheckFailedException e)
        {
            // The engine may answer a cancelled call with an error value rather than an exception.
            return (null, timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? TimedOut : e.Message);
        }
    }

    private string TimedOut => $"no answer within {Timeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms";

    /// <summary>A call's error as a reason: its kind and status only, since an upstream's message may quote the prompt.</summary>
    protected static ModelCheckFailedException Failed(string model, GatewayError error) =>
        new($"the call to '{model}' failed ({error.Kind}{(error.UpstreamStatus is { } s ? ", upstream status " + s.ToString(CultureInfo.InvariantCulture) : "")})");

    protected static bool TryReadAction(string text, string path, ConfigErrors errors, out GuardrailAction action)
    {
        if (GuardrailPolicies.TryAction(text, out action) && action != GuardrailAction.Redact) return true;
        errors.Add($"{path}:Action", $"'{text}' is not an action here: use block or log.");
        return false;
    }

    protected static bool TryReadFailMode(string text, string path, ConfigErrors errors, out bool failOpen)
    {
        failOpen = text.Trim().Equals("open", StringComparison.OrdinalIgnoreCase);
        if (failOpen || text.Trim().Equals("closed", StringComparison.OrdinalIgnoreCase)) return true;
        errors.Add($"{path}:OnError", $"'{text}' is not a failure mode: use open or closed.");
        return false;
    }

    protected static bool TryReadTimeout(int ms, string path, ConfigErrors errors, out TimeSpan timeout)
    {
        timeout = TimeSpan.FromMilliseconds(ms);
        if (ms is >= 1 and <= 600_000) return true;
        errors.Add($"{path}:TimeoutMs", "must be between 1 and 600000 milliseconds.");
        return false;
    }
}

/// <summary>Why a model check could not decide; the message never holds prompt text.</summary>
internal sealed class ModelCheckFailedException(string message) : Exception(message);

/// <summary>
/// <c>guard.model</c>: an LLM as guard. The caller's text (or the policy prompt with it in place of <c>{prompt}</c>)
/// goes as one user message to a chat model behind the gateway, which answers in its documented format:
/// Llama Guard 3 <c>safe</c>, or <c>unsafe</c> and a line of categories (<c>S1,S10</c>); Qwen3Guard-Gen
/// <c>Safety: Safe|Unsafe|Controversial</c> and <c>Categories: ...</c>. Or the text goes to a moderation endpoint in
/// OpenAI's <c>/v1/moderations</c> format (<c>results[0].flagged</c> and the <c>categories</c> set to true).
/// </summary>
internal sealed class GuardModelCheck : ModelCheck
{
    public const string Rule = "guard.model";

    private readonly string _model;
    private readonly GuardFormat _format;
    private readonly string? _prompt;
    private readonly HashSet<string>? _categories;
    private readonly bool _flagControversial;

    private GuardModelCheck(string policy, GuardrailAction action, TimeSpan timeout, bool failOpen, string model, GuardFormat format, string? prompt,
        HashSet<string>? categories, bool flagControversial)
        : base(policy, action, timeout, failOpen)
    {
        _model = model;
        _format = format;
        _prompt = prompt;
        _categories = categories;
        _flagControversial = flagControversial;
    }

    public override string RuleId => Rule;

    internal enum GuardFormat
    {
        LlamaGuard,
        Qwen3Guard,
        OpenAiModeration,
    }

    public static GuardModelCheck? Build(string policy, GuardModelOptions o, string path, ConfigErrors errors)
    {
        var ok = true;
        if (string.IsNullOrWhiteSpace(o.Model)) { errors.Add($"{path}:Model", "name the guard model (an alias or provider/model behind the gateway)."); ok = false; }
        GuardFormat format = default;
        switch (o.Format.Trim().ToLowerInvariant())
        {
            case "llama-guard": format = GuardFormat.LlamaGuard; break;
            case "qwen3-guard": format = GuardFormat.Qwen3Guard; break;
            case "openai-moderation": format = GuardFormat.OpenAiModeration; break;
            default: errors.Add($"{path}:Format", $"'{o.Format}' is not a guard format: use llama-guard, qwen3-guard or openai-moderation."); ok = false; break;
        }
        if (o.Prompt is { } p && !p.Contains("{prompt}", StringComparison.Ordinal))
        {
            errors.Add($"{path}:Prompt", "must contain {prompt}, where the caller's text goes.");
            ok = false;
        }
        if (o.Prompt is not null && format == GuardFormat.OpenAiModeration)
        {
            errors.Add($"{path}:Prompt", "a moderation endpoint takes the text alone, no prompt.");
            ok = false;
        }
        ok &= TryReadAction(o.Action, path, errors, out var action);
        ok &= TryReadFailMode(o.OnError, path, errors, out var failOpen);
        ok &= TryReadTimeout(o.TimeoutMs, path, errors, out var timeout);
        if (!ok) return null;
        var categories = o.Categories.Count == 0 ? null : new HashSet<string>(o.Categories.Select(c => c.Trim()), StringComparer.OrdinalIgnoreCase);
        return new GuardModelCheck(policy, action, timeout, failOpen, o.Model!, format, o.Prompt, categories, o.FlagControversial);
    }

    protected override async ValueTask<string?> JudgeAsync(GatewayEngine engine, CallContext context, IReadOnlyList<string> texts, BodyShape shape, CancellationToken cancellationToken)
    {
        var text = string.Join("\n\n", texts);
        if (text.Length == 0) return null;
        if (_format == GuardFormat.OpenAiModeration) return await ModerateAsync(engine, context, text, cancellationToken).ConfigureAwait(false) ? Rule : null;
        var body = new JsonObject
        {
            ["model"] = _model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = _prompt?.Replace("{prompt}", text, StringComparison.Ordinal) ?? text }),
            // A verdict is a few tokens: "unsafe\nS1,S10", or Qwen3Guard's "Safety: ...\nCategories: ...\n".
            ["max_tokens"] = 64,
            ["temperature"] = 0,
        };
        var (request, error) = ChatRequestParser.Parse(JsonSerializer.SerializeToUtf8Bytes(body));
        if (request is null) throw new ModelCheckFailedException($"the guard request could not be built ({error!.Code})");
        request.RequestedTimeout = Timeout;
        var (_, outcome) = await engine.ChatAsync(request, new Caller(KeyIdOf(Policy), null, IsMaster: true), context.RequestId + "-guard", Endpoint,
            engine.Time.GetTimestamp(), cancellationToken).ConfigureAwait(false);
        if (outcome.Error is { } e) throw Failed(_model, e);
        string? answer = null;
        switch (outcome.Response)
        {
            case CompleteChatResponse complete:
                answer = ContentOf(complete.Body.Span);
                await complete.DisposeAsync().ConfigureAwait(false);
                break;
            case StreamingChatResponse stream:
                await stream.DisposeAsync().ConfigureAwait(false);
                break;
        }
        if (answer is null) throw new ModelCheckFailedException($"the answer of '{_model}' has no message content");
        var (unsafeVerdict, categories) = _format == GuardFormat.LlamaGuard ? ReadLlamaGuard(answer) : ReadQwen3Guard(answer, _flagControversial);
        if (unsafeVerdict is null) throw new ModelCheckFailedException($"the answer of '{_model}' is not a {(_format == GuardFormat.LlamaGuard ? "Llama Guard" : "Qwen3Guard")} verdict");
        return unsafeVerdict.Value && Counts(categories) ? Rule : null;
    }

    /// <summary>Whether the verdict's categories include one the policy counts (any, when it names none).</summary>
    private bool Counts(IEnumerable<string> categories) => _categories is null || categories.Any(_categories.Contains);

    /// <summary>Llama Guard 3: <c>safe</c>, or <c>unsafe</c> then the violated categories comma-separated on the next line.</summary>
    internal static (bool? Unsafe, string[] Categories) ReadLlamaGuard(string answer)
    {
        var lines = answer.Trim().Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0) return (null, []);
        if (lines[0].Equals("safe", StringComparison.OrdinalIgnoreCase)) return (false, []);
        if (!lines[0].Equals("unsafe", StringComparison.OrdinalIgnoreCase)) return (null, []);
        return (true, lines.Length > 1 ? lines[1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : []);
    }

    /// <summary>Qwen3Guard-Gen: <c>Safety: Safe|Unsafe|Controversial</c> and <c>Categories: A, B</c> (or <c>None</c>), one per line.</summary>
    internal static (bool? Unsafe, string[] Categories) ReadQwen3Guard(string answer, bool flagControversial)
    {
        bool? verdict = null;
        string[] categories = [];
        foreach (var raw in answer.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (raw.StartsWith("Safety:", StringComparison.OrdinalIgnoreCase))
            {
                verdict = raw["Safety:".Length..].Trim().ToLowerInvariant() switch
                {
                    "safe" => false,
                    "unsafe" => true,
                    "controversial" => flagControversial,
                    _ => null,
                };
            }
            else if (raw.StartsWith("Categories:", StringComparison.OrdinalIgnoreCase))
            {
                categories = [.. raw["Categories:".Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Where(c => !c.Equals("None", StringComparison.OrdinalIgnoreCase))];
            }
        }
        return (verdict, categories);
    }

    /// <summary>
    /// The moderation endpoint of the model's first deployment that has one, then the next on failure. Not through the
    /// router or metering: a moderation call has no tokens to meter (OpenAI's is free) and is not chat, embeddings or
    /// images; the check's own timeout bounds it.
    /// </summary>
    private async ValueTask<bool> ModerateAsync(GatewayEngine engine, CallContext context, string text, CancellationToken cancellationToken)
    {
        var model = engine.Registry.Resolve(_model) ?? throw new ModelCheckFailedException($"there is no model '{_model}'");
        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["model"] = _model, ["input"] = text });
        GatewayError? last = null;
        foreach (var deployment in model.Deployments)
        {
            if (deployment.Provider.Moderations is not { } moderations) continue;
            var outcome = await moderations.ModerateAsync(new ModerationCall(body, deployment.UpstreamModel, context.RequestId + "-guard"), cancellationToken).ConfigureAwait(false);
            if (outcome.Error is { } e)
            {
                last = e;
                continue;
            }
            return Flags(outcome.Body!.Value.Span);
        }
        throw last is null ? new ModelCheckFailedException($"no provider of '{_model}' has a moderation endpoint") : Failed(_model, last);
    }

    /// <summary>OpenAI's moderation answer: <c>results[0].flagged</c>, counted when one of its true <c>categories</c> is one the policy names (any, when it names none).</summary>
    private bool Flags(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        if (JsonDocument.TryParseValue(ref reader, out var doc))
        {
            using (doc)
            {
                if (doc.RootElement.TryGetProperty("results", out var results) && results.ValueKind == JsonValueKind.Array && results.GetArrayLength() > 0
                    && results[0].TryGetProperty("flagged", out var flagged) && flagged.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    if (!flagged.GetBoolean()) return false;
                    if (_categories is null) return true;
                    return results[0].TryGetProperty("categories", out var categories) && categories.ValueKind == JsonValueKind.Object
                        && categories.EnumerateObject().Any(c => c.Value.ValueKind == JsonValueKind.True && _categories.Contains(c.Name));
                }
            }
        }
        throw new ModelCheckFailedException($"the answer of '{_model}' is not a moderation result");
    }

    /// <summary>The first choice's <c>message.content</c>.</summary>
    private static string? ContentOf(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        if (!JsonDocument.TryParseValue(ref reader, out var doc)) return null;
        using (doc)
        {
            return doc.RootElement.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].TryGetProperty("message", out var message) && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                ? content.GetString()
                : null;
        }
    }
}

/// <summary>
/// <c>topic.deny</c> and <c>topic.allow</c>: the prompt (for chat, its last string: the newest turn) embedded with a
/// model behind the gateway, the built-in MiniLM by default, and compared by cosine similarity with the example
/// sentences, which are embedded once, on first use, and kept.
/// </summary>
internal sealed class TopicCheck : ModelCheck
{
    public const string Deny = "topic.deny";
    public const string Allow = "topic.allow";

    private readonly string _model;
    private readonly string[] _allow;
    private readonly string[] _deny;
    private readonly double _threshold;
    private Task<IReadOnlyList<float[]>>? _examples;

    private TopicCheck(string policy, GuardrailAction action, TimeSpan timeout, bool failOpen, string model, string[] allow, string[] deny, double threshold)
        : base(policy, action, timeout, failOpen)
    {
        _model = model;
        _allow = allow;
        _deny = deny;
        _threshold = threshold;
    }

    public override string RuleId => _deny.Length > 0 ? Deny : Allow;

    public static TopicCheck? Build(string policy, GuardrailTopicOptions o, string path, ConfigErrors errors)
    {
        var ok = true;
        if (string.IsNullOrWhiteSpace(o.Model)) { errors.Add($"{path}:Model", "name the embedding model."); ok = false; }
        if (o.Allow.Count == 0 && o.Deny.Count == 0) { errors.Add(path, "give example sentences under Allow or Deny."); ok = false; }
        if (o.Allow.Concat(o.Deny).Any(string.IsNullOrWhiteSpace)) { errors.Add(path, "example sentences must not be empty."); ok = false; }
        if (o.Threshold is <= 0 or > 1 || double.IsNaN(o.Threshold)) { errors.Add($"{path}:Threshold", "must be a cosine similarity above 0 and at most 1."); ok = false; }
        ok &= TryReadAction(o.Action, path, errors, out var action);
        ok &= TryReadFailMode(o.OnError, path, errors, out var failOpen);
        ok &= TryReadTimeout(o.TimeoutMs, path, errors, out var timeout);
        return ok ? new TopicCheck(policy, action, timeout, failOpen, o.Model, [.. o.Allow], [.. o.Deny], o.Threshold) : null;
    }

    protected override async ValueTask<string?> JudgeAsync(GatewayEngine engine, CallContext context, IReadOnlyList<string> texts, BodyShape shape, CancellationToken cancellationToken)
    {
        // A chat's newest turn says what it is about; earlier turns and the system prompt would blur it.
        IReadOnlyList<string> judged = shape == BodyShape.Chat ? texts.Count == 0 ? [] : [texts[^1]] : texts;
        if (judged.Count == 0) return null;
        var examples = await ExamplesAsync(engine, context, cancellationToken).ConfigureAwait(false);
        var vectors = await EmbedAsync(engine, context, judged, "-topics", cancellationToken).ConfigureAwait(false);
        foreach (var v in vectors)
        {
            var i = 0;
            var allowed = _allow.Length == 0;
            for (; i < _allow.Length; i++) allowed |= Shadow.ShadowTap.Cosine(v, examples[i]) >= _threshold;
            for (var j = 0; j < _deny.Length; j++)
            {
                if (Shadow.ShadowTap.Cosine(v, examples[i + j]) >= _threshold) return Deny;
            }
            if (!allowed) return Allow;
        }
        return null;
    }

    /// <summary>The examples' vectors (allow, then deny), embedded on first use; a failed attempt is not kept.</summary>
    private async Task<IReadOnlyList<float[]>> ExamplesAsync(GatewayEngine engine, CallContext context, CancellationToken cancellationToken)
    {
        var task = _examples;
        if (task is null || task.IsFaulted || task.IsCanceled)
        {
            // Not the caller's token: a request that gives up must not leave a cancelled task for the next one.
            var fresh = EmbedAsync(engine, context, [.. _allow, .. _deny], "-topic-examples", CancellationToken.None);
            task = Interlocked.CompareExchange(ref _examples, fresh, task) == task ? fresh : _examples!;
        }
        return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<float[]>> EmbedAsync(GatewayEngine engine, CallContext context, IReadOnlyList<string> inputs, string suffix, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["model"] = _model, ["input"] = new JsonArray([.. inputs.Select(i => (JsonNode?)i)]) });
        var request = new EmbeddingRequest { Body = body, Model = _model, Inputs = inputs, RequestedTimeout = Timeout };
        var (_, outcome) = await engine.EmbedAsync(request, new Caller(KeyIdOf(Policy), null, IsMaster: true), context.RequestId + suffix,
            engine.Time.GetTimestamp(), cancellationToken).ConfigureAwait(false);
        if (outcome.Error is { } e) throw Failed(_model, e);
        var vectors = outcome.Result!.Vectors ?? Shadow.ShadowTap.ReadVectors(outcome.Result.Body!.Value);
        if (vectors is null || vectors.Count != inputs.Count) throw new ModelCheckFailedException($"the answer of '{_model}' has {vectors?.Count ?? 0} vectors for {inputs.Count} inputs");
        return vectors;
    }
}
