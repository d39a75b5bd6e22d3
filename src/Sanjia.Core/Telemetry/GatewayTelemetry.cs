using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing.Health;

namespace Sanjia.Core.Telemetry;

/// <summary>
/// The gateway's one <see cref="ActivitySource"/> and one <see cref="System.Diagnostics.Metrics.Meter"/>, both named
/// <c>Sanjia</c>, and what they record (docs/observability.md). Two places call in: metering (<c>Meter</c>, once per
/// request: the metrics, the server span's attributes) and the router (one client span per upstream attempt).
/// With nothing listening every entry point returns after one check (<see cref="ActivitySource.HasListeners"/>,
/// <see cref="Instrument.Enabled"/>): no tags are built, nothing is allocated. With a listener, the tags of a
/// deployment are built once and kept (<see cref="DeploymentLabels"/>), a request's tags are a <see cref="TagList"/>
/// on the stack (at most eight, so inline), and status codes are boxed once.
/// </summary>
public static class GatewayTelemetry
{
    public const string Name = "Sanjia";

    public static readonly ActivitySource Source = new(Name);

    public static readonly System.Diagnostics.Metrics.Meter Meter = new(Name);

    // The bucket boundaries the GenAI semantic conventions recommend for each histogram (gen-ai-metrics.md): LLM-sized,
    // from 10 ms to 82 s for durations and 1 ms to 10 s for the first token, where HTTP's defaults stop at 10 s.
    private static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}",
        "Number of input and output tokens used.", null,
        new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });

    private static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s",
        "GenAI operation duration.", null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });

    private static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s",
        "Time to generate first token for successful responses.", null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] });

    private static readonly Histogram<double> TimePerOutputToken = Meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s",
        "Time per output token generated after the first token for successful responses.", null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5] });

    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("sanjia.requests", "{request}",
        "Requests by alias, deployment, status and error class (one per ledger row of a request's own).");

    private static readonly Counter<double> CostTotal = Meter.CreateCounter<double>("sanjia.cost", null,
        "Cost of the requests as metered, in the currency named by sanjia.currency.");

    private static readonly Counter<long> KeyTokens = Meter.CreateCounter<long>("sanjia.key.tokens", "{token}",
        "Tokens per virtual key and team (ids only; the first Sanjia:Metrics:MaxKeyLabels ids, then \"other\").");

    private static readonly Counter<double> KeyCost = Meter.CreateCounter<double>("sanjia.key.cost", null,
        "Cost per virtual key and team (ids only, capped as sanjia.key.tokens), in the currency named by sanjia.currency.");

    private static readonly KeyValuePair<string, object?> ChatOperation = new(GenAi.OperationName, GenAi.Chat);
    private static readonly KeyValuePair<string, object?> EmbeddingsOperation = new(GenAi.OperationName, GenAi.Embeddings);
    private static readonly KeyValuePair<string, object?> ImageOperation = new(GenAi.OperationName, GenAi.GenerateContent);
    private static readonly KeyValuePair<string, object?> InputType = new(GenAi.TokenType, GenAi.Input);
    private static readonly KeyValuePair<string, object?> OutputType = new(GenAi.TokenType, GenAi.Output);

    // Boxed once: a status code as a tag would otherwise allocate per request.
    private static readonly object[] StatusCodes = [.. Enumerable.Range(0, 600).Select(i => (object)i)];
    private static readonly object[] SmallInts = [.. Enumerable.Range(0, 16).Select(i => (object)i)];

    // Token counts as span attributes, boxed once up to 4095 (96 KB): most requests' counts, four per request otherwise.
    private static readonly object[] Counts = [.. Enumerable.Range(0, 4096).Select(i => (object)i)];

    /// <summary>Distinct deployments and request models kept as labels (a provider forwarding any model name must not create unbounded series).</summary>
    internal const int MaxModelLabels = 1000;

    private static readonly ConcurrentDictionary<string, DeploymentLabels> Deployments = new(StringComparer.Ordinal);
    private static readonly LabelCap ErrorTypes = new(200);

    /// <summary>Whether any metric of a request's is being listened to; the one check on the request path when none is.</summary>
    private static bool AnyRequestMetric => Requests.Enabled || OperationDuration.Enabled || TokenUsage.Enabled || TimeToFirstToken.Enabled
        || TimePerOutputToken.Enabled || CostTotal.Enabled || KeyTokens.Enabled || KeyCost.Enabled;

    /// <summary>A status code boxed once (as a tag value it would otherwise allocate per request).</summary>
    public static object Boxed(int status) => (uint)status < StatusCodes.Length ? StatusCodes[status] : status;

    private static object BoxedSmall(int n) => (uint)n < SmallInts.Length ? SmallInts[n] : n;

    private static object BoxedCount(int n) => (uint)n < Counts.Length ? Counts[n] : n;

    /// <summary>The request's server span, when one is being recorded: the HTTP layer's (ASP.NET Core's) span of this request.</summary>
    internal static Activity? ServerSpan() => Activity.Current is { Kind: ActivityKind.Server, IsAllDataRequested: true } span ? span : null;

    /// <summary>
    /// A request's own outcome, once (metering calls it as it builds the request's own ledger row): the metrics, and
    /// the server span's GenAI and <c>sanjia.*</c> attributes.
    /// </summary>
    internal static void RecordRequest(CallContext context, TokenUsage usage, int status, string? errorCode, TimeSpan latency, TimeSpan? ttft, Cost? cost,
        TelemetrySettings settings)
    {
        if (context.ServerSpan is { } span)
        {
            Enrich(span, context, usage, status, errorCode, cost, settings);
        }
        if (!AnyRequestMetric) return;
        var embeddings = context is EmbeddingContext;
        var d = DeploymentLabels.Of(context.Deployment);
        var model = settings.ModelLabel(context.Model.RequestedId);
        var errorType = errorCode is null ? default : new KeyValuePair<string, object?>(GenAi.ErrorType, ErrorTypes.Label(errorCode));

        if (Requests.Enabled)
        {
            var tags = new TagList { model, d.Deployment, new(GenAi.Status, Boxed(status)), new(GenAi.ErrorClass, ErrorClass(status)) };
            if (errorCode is not null) tags.Add(errorType);
            Requests.Add(1, tags);
        }
        var common = new TagList { Operation(context), d.Provider, model, d.ResponseModel, d.Deployment };
        if (OperationDuration.Enabled)
        {
            var tags = common;
            if (errorCode is not null) tags.Add(errorType);
            OperationDuration.Record(latency.TotalSeconds, tags);
        }
        if (TokenUsage.Enabled && usage.Total > 0)
        {
            var tags = common;
            tags.Add(InputType);
            TokenUsage.Record(usage.Input, tags);
            if (!embeddings)
            {
                tags[5] = OutputType;
                TokenUsage.Record(usage.Output, tags);
            }
        }
        if (status == 200 && ttft is { } first)
        {
            TimeToFirstToken.Record(first.TotalSeconds, common);
            // Decode speed: the time after the first token over the tokens after it (gen-ai-metrics.md).
            if (usage.Output > 1 && latency > first)
            {
                TimePerOutputToken.Record((latency - first).TotalSeconds / (usage.Output - 1), common);
            }
        }
        if (cost is { Amount: { } amount, Currency: { } currency } && amount > 0)
        {
            var c = new KeyValuePair<string, object?>(GenAi.Currency, currency);
            CostTotal.Add((double)amount, c, model, d.Deployment);
            if (context.Caller.KeyId is not null && KeyCost.Enabled)
            {
                KeyCost.Add((double)amount, c, settings.KeyLabel(context.Caller.KeyId), settings.TeamLabel(context.Caller.TeamId));
            }
        }
        if (context.Caller.KeyId is not null && KeyTokens.Enabled && usage.Total > 0)
        {
            var key = settings.KeyLabel(context.Caller.KeyId);
            var team = settings.TeamLabel(context.Caller.TeamId);
            KeyTokens.Add(usage.Input, key, team, InputType);
            KeyTokens.Add(usage.Output, key, team, OutputType);
        }
    }

    /// <summary>A request refused before any model was chosen (unknown model): counted, without the model the client named.</summary>
    internal static void RecordRefusal(int status, string? errorCode)
    {
        if (!Requests.Enabled) return;
        var tags = new TagList { DeploymentLabels.None.Deployment, new(GenAi.Status, Boxed(status)), new(GenAi.ErrorClass, ErrorClass(status)) };
        if (errorCode is not null) tags.Add(new(GenAi.ErrorType, ErrorTypes.Label(errorCode)));
        Requests.Add(1, tags);
    }

    /// <summary>
    /// The class of a request's outcome by status: <c>none</c> (answered), <c>client</c> (the request was wrong or not
    /// allowed), <c>limited</c> (429: rate limits, budgets, overload), <c>cancelled</c> (499: the client went away),
    /// <c>upstream</c> (502/503/504: the vendor failed, timed out or was unreachable), <c>gateway</c> (any other 5xx).
    /// </summary>
    public static string ErrorClass(int status) => status switch
    {
        < 400 => "none",
        429 => "limited",
        499 => "cancelled",
        < 500 => "client",
        502 or 503 or 504 => "upstream",
        _ => "gateway",
    };

    /// <summary><c>gen_ai.operation.name</c> by the kind of call.</summary>
    private static KeyValuePair<string, object?> Operation(CallContext context) => context switch
    {
        EmbeddingContext => EmbeddingsOperation,
        ImageContext => ImageOperation,
        _ => ChatOperation,
    };

    /// <summary><c>sanjia.cache</c>: what the response cache did, as the <c>x-sanjia-cache</c> header says it.</summary>
    internal static string? CacheOutcome(Caching.CacheStatus status) => status switch
    {
        Caching.CacheStatus.None => null,
        Caching.CacheStatus.Hit => "hit",
        Caching.CacheStatus.Miss => "miss",
        _ => "bypass",
    };

    // AddTag, not SetTag: these names are not on the span yet (ASP.NET Core's are http.* and url.*; the client span is
    // new), and SetTag searches the span's list for each name first, a cost that grows with every tag.
    private static void Enrich(Activity span, CallContext context, TokenUsage usage, int status, string? errorCode, Cost? cost, TelemetrySettings settings)
    {
        var embeddings = context is EmbeddingContext;
        span.AddTag(GenAi.OperationName, Operation(context).Value);
        if (CacheOutcome(context.CacheStatus) is { } cache) span.AddTag(GenAi.Cache, cache);
        span.AddTag(GenAi.RequestModel, context.Model.RequestedId);
        span.AddTag(GenAi.RequestId, context.RequestId);
        if (context.Model.IsAlias) span.AddTag(GenAi.Alias, context.Model.RequestedId);
        if (context.Deployment is { } deployment)
        {
            var d = DeploymentLabels.Of(deployment);
            span.AddTag(GenAi.ProviderName, d.Provider.Value);
            span.AddTag(GenAi.ResponseModel, deployment.UpstreamModel);
            span.AddTag(GenAi.Deployment, deployment.Id);
        }
        span.AddTag(GenAi.UsageInputTokens, BoxedCount(usage.Input));
        if (!embeddings) span.AddTag(GenAi.UsageOutputTokens, BoxedCount(usage.Output));
        if (usage.Estimated) span.AddTag(GenAi.TokenEstimated, true);
        span.AddTag(GenAi.Attempts, BoxedSmall(Math.Max(1, context.Attempts)));
        if (context.Fallbacks > 0) span.AddTag(GenAi.Fallbacks, BoxedSmall(context.Fallbacks));
        if (context.Route.Count > 1) span.AddTag(GenAi.Route, string.Join(" -> ", context.Route));
        if (context.Stream) span.AddTag(GenAi.Stream, true);
        if (cost is { Amount: { } amount })
        {
            span.AddTag(GenAi.Cost, (double)amount);
            span.AddTag(GenAi.Currency, cost.Value.Currency);
        }
        if (context.Caller.KeyId is { } key) span.AddTag(GenAi.KeyId, key);
        if (context.Caller.TeamId is { } team) span.AddTag(GenAi.TeamId, team);
        if (errorCode is not null)
        {
            span.AddTag(GenAi.ErrorType, errorCode);
            span.AddTag(GenAi.ErrorClass, ErrorClass(status));
        }
        if (settings.CaptureContent && context is ChatContext chat && span.GetTagItem(GenAi.InputMessages) is null)
        {
            span.AddTag(GenAi.InputMessages, ContentCapture.Messages(chat.Request.Body.Span));
        }
    }

    /// <summary>
    /// A client span for one upstream attempt, named <c>{gen_ai.operation.name} {gen_ai.request.model}</c> with the
    /// model the gateway asks the vendor for; null (and nothing built) when nobody listens or the sampler says no.
    /// </summary>
    public static Activity? StartAttempt(CallContext context, Deployment deployment)
    {
        if (!Source.HasListeners()) return null;
        var d = DeploymentLabels.Of(deployment);
        var span = Source.StartActivity(context switch { EmbeddingContext => d.EmbeddingsSpanName, ImageContext => d.ImageSpanName, _ => d.ChatSpanName }, ActivityKind.Client);
        if (span is not { IsAllDataRequested: true }) return span;
        span.AddTag(GenAi.OperationName, Operation(context).Value);
        span.AddTag(GenAi.ProviderName, d.Provider.Value);
        span.AddTag(GenAi.RequestModel, deployment.UpstreamModel);
        // The deployment id names the configured provider; the alias and the request id are the parent server span's
        // (a trace joins them): each attribute is serialized and exported per span, so none is repeated here.
        span.AddTag(GenAi.Deployment, deployment.Id);
        span.AddTag(GenAi.Attempt, BoxedSmall(context.Attempts));
        // Why this attempt is not the first: how the one before it ended (e.g. 503, timeout, open).
        if (context.Attempts > 1 && context.Route.Count > 0) span.AddTag(GenAi.FallbackReason, context.Route[^1].Outcome);
        if (context is ChatContext chat)
        {
            if (chat.Request.MaxTokens is { } max) span.AddTag(GenAi.RequestMaxTokens, max);
            if (chat.Request.Temperature is { } t) span.AddTag(GenAi.RequestTemperature, t);
            if (chat.Request.TopP is { } p) span.AddTag(GenAi.RequestTopP, p);
        }
        return span;
    }

    /// <summary>How an attempt the client abandoned ends its span.</summary>
    internal static readonly GatewayError ClientClosed = new(GatewayErrorKind.InvalidRequest, "The client closed the request.") { Code = "client_closed_request" };

    /// <summary>Ends an attempt's span with what it used and how it ended (no-op for null).</summary>
    public static void EndAttempt(Activity? span, Deployment deployment, TokenUsage? usage, GatewayError? error, string? finishReason = null)
    {
        if (span is null) return;
        if (span.IsAllDataRequested)
        {
            // AddTag: none of these is on the attempt's span yet (StartAttempt adds the request's side only).
            span.AddTag(GenAi.ResponseModel, deployment.UpstreamModel);
            if (usage is { } u)
            {
                span.AddTag(GenAi.UsageInputTokens, BoxedCount(u.Input));
                span.AddTag(GenAi.UsageOutputTokens, BoxedCount(u.Output));
            }
            if (finishReason is not null) span.AddTag(GenAi.ResponseFinishReasons, FinishReasons(finishReason));
            if (error is not null)
            {
                var type = error.Code ?? error.Kind.ToString();
                span.AddTag(GenAi.ErrorType, type);
                span.SetStatus(ActivityStatusCode.Error, type);
            }
        }
        span.Dispose();
    }

    /// <summary>The <c>finish_reason</c> of an OpenAI-shaped body or chunk, found by a byte search (only when a span records it).</summary>
    public static string? FinishReason(ReadOnlySpan<byte> json)
    {
        var at = json.IndexOf("\"finish_reason\":\""u8);
        if (at < 0) return null;
        var rest = json[(at + 17)..];
        var end = rest.IndexOf((byte)'"');
        if (end <= 0) return null;
        var value = rest[..end];
        // The usual values without a string per request.
        if (value.SequenceEqual("stop"u8)) return Stop[0];
        if (value.SequenceEqual("length"u8)) return Length[0];
        if (value.SequenceEqual("tool_calls"u8)) return ToolCalls[0];
        return System.Text.Encoding.UTF8.GetString(value);
    }

    private static readonly string[] Stop = ["stop"];
    private static readonly string[] Length = ["length"];
    private static readonly string[] ToolCalls = ["tool_calls"];

    // gen_ai.response.finish_reasons is a string array: the usual ones shared (an exporter only reads it).
    private static string[] FinishReasons(string reason) => reason switch
    {
        "stop" => Stop,
        "length" => Length,
        "tool_calls" => ToolCalls,
        _ => [reason],
    };

    // Observed state, read at collection time only (a scrape, an export): nothing on the request path.
    private static readonly List<DeploymentStateStore> StateStores = [];
    private static readonly List<Func<long>> JournalBacklogs = [];
    private static readonly List<BudgetGauges> Budgets = [];

    static GatewayTelemetry()
    {
        Meter.CreateObservableGauge("sanjia.deployment.breaker.state", ObserveBreakers, null,
            "Circuit-breaker state per deployment: 0 closed, 1 half-open, 2 open.");
        Meter.CreateObservableUpDownCounter("sanjia.deployment.in_flight", ObserveInFlight, "{request}",
            "Requests in flight per deployment; for a local model, its queue plus the generations running.");
        Meter.CreateObservableGauge("sanjia.ledger.journal.backlog", ObserveJournal, "{entry}",
            "Ledger entries written to the journal and not yet stored.");
        Meter.CreateObservableGauge("sanjia.budget.used", () => Snapshot(Budgets).SelectMany(b => b.Used()), null,
            "Spent in the current window of a key's or team's budget, in the budget's currency (sanjia.currency).");
        Meter.CreateObservableGauge("sanjia.budget.limit", () => Snapshot(Budgets).SelectMany(b => b.Limit()), null,
            "The budget of a key or team per window, in its currency.");
    }

    /// <summary>Reports a gateway's budgets (used against limit, per key and team) until disposed.</summary>
    public static IDisposable ObserveBudgets(BudgetGauges budgets) => Register(Budgets, budgets);

    /// <summary>Reports a gateway's deployment health (breaker state, requests in flight) until disposed.</summary>
    public static IDisposable Observe(DeploymentStateStore states) => Register(StateStores, states);

    /// <summary>Reports a gateway's ledger journal backlog until disposed.</summary>
    public static IDisposable ObserveJournal(Func<long> backlog) => Register(JournalBacklogs, backlog);

    private static IDisposable Register<T>(List<T> list, T item)
    {
        lock (list) list.Add(item);
        return new Unregister(() => { lock (list) list.Remove(item); });
    }

    private sealed class Unregister(Action action) : IDisposable
    {
        private Action? _action = action;
        public void Dispose() => Interlocked.Exchange(ref _action, null)?.Invoke();
    }

    private static IEnumerable<Measurement<int>> ObserveBreakers()
    {
        foreach (var state in Snapshot(StateStores).SelectMany(s => s.All))
        {
            var value = state.Breaker.State switch { BreakerState.Open => 2, BreakerState.HalfOpen => 1, _ => 0 };
            yield return new Measurement<int>(value, new KeyValuePair<string, object?>(GenAi.Deployment, state.Id));
        }
    }

    private static IEnumerable<Measurement<int>> ObserveInFlight()
    {
        foreach (var state in Snapshot(StateStores).SelectMany(s => s.All))
        {
            yield return new Measurement<int>(state.InFlight, new KeyValuePair<string, object?>(GenAi.Deployment, state.Id));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveJournal()
    {
        var total = 0L;
        foreach (var backlog in Snapshot(JournalBacklogs)) total += backlog();
        yield return new Measurement<long>(total);
    }

    private static List<T> Snapshot<T>(List<T> list)
    {
        lock (list) return [.. list];
    }

    /// <summary>A deployment's labels and span names, built once per deployment id and kept.</summary>
    internal sealed class DeploymentLabels
    {
        public static readonly DeploymentLabels None = new("none", "none", "none", "none");

        private DeploymentLabels(string id, string provider, string upstreamModel, string providerName)
        {
            Deployment = new(GenAi.Deployment, id);
            Provider = new(GenAi.ProviderName, providerName);
            ResponseModel = new(GenAi.ResponseModel, upstreamModel);
            ChatSpanName = GenAi.Chat + " " + upstreamModel;
            EmbeddingsSpanName = GenAi.Embeddings + " " + upstreamModel;
            ImageSpanName = GenAi.GenerateContent + " " + upstreamModel;
            _ = provider;
        }

        public KeyValuePair<string, object?> Deployment { get; }
        public KeyValuePair<string, object?> Provider { get; }
        public KeyValuePair<string, object?> ResponseModel { get; }
        public string ChatSpanName { get; }
        public string EmbeddingsSpanName { get; }
        public string ImageSpanName { get; }

        public static DeploymentLabels Of(Deployment? deployment)
        {
            if (deployment is null) return None;
            if (Deployments.TryGetValue(deployment.Id, out var labels)) return labels;
            labels = new DeploymentLabels(deployment.Id, deployment.Provider.Name, deployment.UpstreamModel, ProviderName(deployment.Provider));
            // Past the cap (a provider forwarding any model name), the labels are not kept: they are built per request.
            return Deployments.Count < MaxModelLabels ? Deployments.GetOrAdd(deployment.Id, labels) : labels;
        }
    }

    /// <summary>
    /// <c>gen_ai.provider.name</c>: the well-known value for the protocol the gateway speaks to the vendor (it names the
    /// telemetry flavour, gen-ai-metrics.md), or the vendor's well-known name when the provider is named after one.
    /// </summary>
    internal static string ProviderName(IProvider provider)
    {
        var type = provider.GetType().Name;
        if (type.StartsWith("Anthropic", StringComparison.Ordinal)) return "anthropic";
        if (type.StartsWith("Gemini", StringComparison.Ordinal)) return "gcp.gemini";
        if (type.StartsWith("Local", StringComparison.Ordinal)) return "sanjia.local";
        return provider.Name.ToLowerInvariant() switch
        {
            "deepseek" => "deepseek",
            "groq" => "groq",
            "mistral" or "mistral_ai" => "mistral_ai",
            "xai" or "x_ai" or "grok" => "x_ai",
            "perplexity" => "perplexity",
            "cohere" => "cohere",
            "azure" => "azure.ai.openai",
            _ => "openai",
        };
    }
}

/// <summary>
/// A label with a cap on its distinct values: the first <c>max</c> values seen are kept as they are, every later one
/// becomes <c>other</c>. Keeps a counter's series monotonic (a value never moves between labels) and bounded.
/// </summary>
public sealed class LabelCap(int max)
{
    public const string Other = "other";

    private readonly ConcurrentDictionary<string, string> _seen = new(StringComparer.Ordinal);

    public string Label(string value)
    {
        if (_seen.TryGetValue(value, out var kept)) return kept;
        return _seen.Count < max ? _seen.GetOrAdd(value, value) : Other;
    }
}

/// <summary>Telemetry settings of one gateway: content capture and the per-key label cap.</summary>
public sealed class TelemetrySettings(bool captureContent = false, int maxKeyLabels = 100)
{
    public static readonly TelemetrySettings Default = new();

    private readonly LabelCap _keys = new(maxKeyLabels);
    private readonly LabelCap _models = new(GatewayTelemetry.MaxModelLabels);
    private readonly LabelCap _teams = new(maxKeyLabels);

    /// <summary>Whether prompts and answers go into spans (<c>gen_ai.input.messages</c>); off by default: they are your users' data.</summary>
    public bool CaptureContent { get; } = captureContent;

    /// <summary>The model or alias asked for, capped per gateway (a provider forwarding any model name must not grow the series without bound).</summary>
    internal KeyValuePair<string, object?> ModelLabel(string model) => new(GenAi.RequestModel, _models.Label(model));

    internal KeyValuePair<string, object?> KeyLabel(string keyId) => new(GenAi.KeyId, _keys.Label(keyId));

    internal KeyValuePair<string, object?> TeamLabel(string? teamId) => new(GenAi.TeamId, teamId is null ? "none" : _teams.Label(teamId));
}
