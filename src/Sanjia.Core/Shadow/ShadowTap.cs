using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pipeline.Taps;
using Sanjia.Core.Pricing;
using Sanjia.Core.Routing;
using Sanjia.Core.Tokens;

namespace Sanjia.Core.Shadow;

/// <summary>
/// Shadow testing. On the request path it only samples (<see cref="Wants"/>) and enqueues a copy into the alias's
/// bounded channel (<see cref="Completed"/>; a full queue or the hourly cap drops the copy and counts it). Background
/// workers replay each copy, non-streaming, against the candidate through the engine (so it is metered and routed
/// like any call, under the endpoint <c>/shadow</c>), measure the similarity of the two answers with an embedding
/// model, and store the pair. The caller's response is never touched. The shadow's calls are its own traffic: they
/// run under the key id <c>shadow:&lt;alias&gt;</c> (<see cref="KeyIdOf"/>), outside callers' key policies and
/// budgets, and are charged to the alias's own <see cref="ShadowBudget"/> when one is configured (a call the budget
/// cannot cover is skipped and counted).
/// </summary>
public sealed partial class ShadowTap : BackgroundService, IChatTap
{
    public const string Endpoint = "/shadow";

    /// <summary>Head-room on the prompt estimate, as for keys' budgets: vendors' tokenizers differ from o200k.</summary>
    private const decimal PromptMargin = 1.5m;

    private readonly int _defaultMaxOutputTokens;

    private readonly Dictionary<string, Lane> _lanes;
    private readonly Func<GatewayEngine> _engine;
    private readonly IShadowStore _store;
    private readonly IRandomSource _random;
    private readonly TimeProvider _time;
    private readonly ILogger<ShadowTap> _logger;
    private readonly Pricer? _pricer;

    /// <param name="loadSpent">Ledger spend of a key id since a time in a currency, so shadow budgets survive restarts.</param>
    public ShadowTap(IReadOnlyDictionary<string, ShadowOptions> shadows, Func<GatewayEngine> engine, IShadowStore store, IRandomSource random, TimeProvider time, ILogger<ShadowTap> logger,
        Pricer? pricer = null, MeteringOptions? metering = null, Func<string, string, DateTimeOffset, CancellationToken, Task<decimal>>? loadSpent = null,
        Budgets.ISharedBudgets? sharedBudgets = null)
    {
        _pricer = pricer;
        metering ??= new MeteringOptions();
        _defaultMaxOutputTokens = metering.DefaultMaxOutputTokens;
        var currencies = new CurrencyConverter(metering);
        _lanes = shadows.ToDictionary(s => s.Key, s => new Lane(s.Key, s.Value)
        {
            Budget = s.Value.Budget is { } b && pricer is not null
                ? new ShadowBudget(b, s.Value.AllowUnpriced, pricer, currencies, time,
                    loadSpent is null ? null : (since, ct) => loadSpent(KeyIdOf(s.Key), b.Currency.ToUpperInvariant(), since, ct),
                    sharedBudgets, KeyIdOf(s.Key))
                : null,
        }, StringComparer.OrdinalIgnoreCase);
        _engine = engine;
        _store = store;
        _random = random;
        _time = time;
        _logger = logger;
    }

    public IReadOnlyCollection<string> Aliases => _lanes.Keys;

    public ShadowOptions? Settings(string alias) => _lanes.GetValueOrDefault(alias)?.Options;

    public ShadowCounters? Counters(string alias) => _lanes.GetValueOrDefault(alias)?.Counters;

    /// <summary>The alias's spend cap, or null when it has none.</summary>
    public ShadowBudget? Budget(string alias) => _lanes.GetValueOrDefault(alias)?.Budget;

    /// <summary>The key id the shadow's ledger rows carry, so spend reports show them apart from callers'.</summary>
    public static string KeyIdOf(string alias) => "shadow:" + alias;

    public int QueueDepth(string alias) => _lanes.TryGetValue(alias, out var l) ? l.Queue.Reader.Count : 0;

    public bool Wants(ChatContext context) =>
        context.Endpoint != Endpoint
        && _lanes.TryGetValue(context.Model.RequestedId, out var lane)
        && lane.Options.Fraction > 0
        && (lane.Options.Fraction >= 1 || _random.NextDouble() < lane.Options.Fraction);

    public void Completed(CompletedChat chat)
    {
        if (!_lanes.TryGetValue(chat.Model, out var lane)) return;
        if (!lane.TakeHourlySlot(_time.GetUtcNow()))
        {
            Interlocked.Increment(ref lane.Counters._capped);
            return;
        }
        if (lane.Queue.Writer.TryWrite(chat))
        {
            Interlocked.Increment(ref lane.Counters._enqueued);
        }
        else
        {
            lane.ReturnHourlySlot();
            Interlocked.Increment(ref lane.Counters._dropped);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_lanes.Values.SelectMany(l => Enumerable.Range(0, l.Options.Concurrency).Select(_ => WorkAsync(l, stoppingToken))));

    private async Task WorkAsync(Lane lane, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var chat in lane.Queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var pair = await ReplayAsync(lane, chat, stoppingToken).ConfigureAwait(false);
                    if (pair is null) continue; // skipped by the budget, counted there
                    await _store.SaveAsync(pair, CancellationToken.None).ConfigureAwait(false);
                    Interlocked.Increment(ref pair.CandidateError is null ? ref lane.Counters._completed : ref lane.Counters._failed);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref lane.Counters._failed);
                    LogReplayFailed(_logger, lane.Alias, e.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: copies still queued are dropped; shadowing is a sample, not a record.
        }
    }

    private async Task<ShadowPair?> ReplayAsync(Lane lane, CompletedChat chat, CancellationToken ct)
    {
        var engine = _engine();
        var primaryText = chat.ResponseText();
        var pair = new ShadowPair
        {
            RequestId = chat.RequestId,
            Alias = lane.Alias,
            Candidate = lane.Options.Candidate!,
            Timestamp = chat.Timestamp,
            PrimaryDeployment = chat.Deployment,
            PrimaryText = primaryText,
            PrimaryInputTokens = chat.Usage.Input,
            PrimaryOutputTokens = chat.Usage.Output,
            PrimaryLatencyMs = chat.LatencyMs,
        };
        if (_pricer?.CostOf(chat.Provider, chat.UpstreamModel, chat.Usage) is { Amount: { } primaryCost } pc)
        {
            pair = pair with { PrimaryCost = primaryCost, PrimaryCurrency = pc.Currency };
        }
        var body = JsonNode.Parse(chat.RequestBody.Span)!.AsObject();
        body["model"] = lane.Options.Candidate;
        body.Remove("stream");
        body.Remove("stream_options");
        var (request, parseError) = ChatRequestParser.Parse(Encoding.UTF8.GetBytes(body.ToJsonString()));
        if (parseError is not null) return pair with { CandidateError = parseError.Message, Score = 0 };
        ShadowHold? hold = null;
        if (lane.Budget is { } budget && engine.Registry.Resolve(request!.Model) is { } candidate)
        {
            await budget.SyncAsync(ct).ConfigureAwait(false);
            var prompt = (int)Math.Ceiling(TokenCounter.CountPrompt(request.PromptText) * PromptMargin);
            var n = Math.Max(1, request.N);
            (hold, var refusal) = await budget.TryReserveAsync(candidate, price =>
                CostCalculator.WorstCase(price, prompt, (request.MaxTokens ?? price.MaxOutputTokens ?? _defaultMaxOutputTokens) * n), ct).ConfigureAwait(false);
            if (hold is null)
            {
                Interlocked.Increment(ref refusal == ShadowBudget.Refusal.Unpriced ? ref lane.Counters._skippedUnpriced : ref lane.Counters._skippedBudget);
                return null;
            }
        }
        var start = _time.GetTimestamp();
        var caller = new Caller(KeyIdOf(lane.Alias), null, IsMaster: true);
        ChatContext? context;
        ChatOutcome outcome;
        try
        {
            (context, outcome) = await engine.ChatAsync(request!, caller, chat.RequestId + "-shadow", Endpoint, start, ct).ConfigureAwait(false);
        }
        catch
        {
            if (hold is not null) lane.Budget!.Release(hold);
            throw;
        }
        var text = new StringBuilder();
        TokenUsage usage = default;
        switch (outcome.Response)
        {
            case CompleteChatResponse complete:
                ChunkScanner.Scan(complete.Body.Span, text);
                usage = complete.Usage;
                await complete.DisposeAsync().ConfigureAwait(false);
                break;
            case StreamingChatResponse stream:
                await using (stream.ConfigureAwait(false))
                {
                    while (await stream.MoveNextAsync(ct).ConfigureAwait(false)) ChunkScanner.Scan(stream.Current.Span, text);
                }
                usage = stream.Usage;
                break;
        }
        if (hold is not null)
        {
            var rows = context?.ConsumedAttempts.Select(a => ((Models.Deployment?)a.Deployment, a.Usage)).ToList() ?? [];
            if (outcome.Response is not null) rows.Add((context?.Deployment, usage));
            lane.Budget!.Settle(hold, rows);
        }
        pair = pair with
        {
            CandidateDeployment = context?.Deployment?.Id,
            CandidateLatencyMs = _time.GetElapsedTime(start).TotalMilliseconds,
            CandidateInputTokens = usage.Input,
            CandidateOutputTokens = usage.Output,
            CandidateText = text.ToString(),
            CandidateError = outcome.Error?.Message,
        };
        if (usage.Total > 0 && _pricer?.CostOf(context?.Deployment, usage) is { Amount: { } candidateCost } cc)
        {
            pair = pair with { CandidateCost = candidateCost, CandidateCurrency = cc.Currency };
        }
        if (outcome.Error is not null) return pair with { Score = 0 };
        var (score, error) = await SimilarityAsync(engine, lane, primaryText, pair.CandidateText, caller, chat.RequestId, ct).ConfigureAwait(false);
        return pair with { Score = score, ScoreError = error };
    }

    private async Task<(double? Score, string? Error)> SimilarityAsync(GatewayEngine engine, Lane lane, string a, string b, Caller caller, string requestId, CancellationToken ct)
    {
        if (a == b) return (1, null);
        var model = lane.Options.EmbeddingModel;
        var inputs = new[] { a, b };
        ShadowHold? hold = null;
        var resolved = lane.Budget is null ? null : engine.Registry.Resolve(model);
        if (resolved is not null)
        {
            var tokens = (int)Math.Ceiling((TokenCounter.Count(a) + TokenCounter.Count(b)) * PromptMargin);
            await lane.Budget!.SyncAsync(ct).ConfigureAwait(false);
            (hold, var refusal) = await lane.Budget!.TryReserveAsync(resolved, price => CostCalculator.WorstCase(price, tokens, 0), ct).ConfigureAwait(false);
            if (hold is null)
            {
                return (null, refusal == ShadowBudget.Refusal.Unpriced
                    ? $"the embedding model '{model}' has no known price (Sanjia:Shadow:{lane.Alias}:AllowUnpriced)"
                    : "the shadow budget cannot cover grading this pair");
            }
        }
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["model"] = model, ["input"] = new JsonArray(a, b) }.ToJsonString());
        EmbeddingOutcome outcome;
        try
        {
            (_, outcome) = await engine.EmbedAsync(new EmbeddingRequest { Body = body, Model = model, Inputs = inputs }, caller, requestId + "-shadow-embed", _time.GetTimestamp(), ct).ConfigureAwait(false);
        }
        catch
        {
            if (hold is not null) lane.Budget!.Release(hold);
            throw;
        }
        if (hold is not null)
        {
            // Charged at the first embedding deployment's price (the one the engine tries first).
            var used = resolved!.Deployments.FirstOrDefault(d => d.Provider.Embeddings is not null);
            if (outcome.Result is { } r) lane.Budget!.Settle(hold, [(used, r.Usage)]);
            else lane.Budget!.Release(hold);
        }
        if (outcome.Error is { } e) return (null, $"embeddings with '{model}' failed: {e.Message}");
        var vectors = outcome.Result!.Vectors ?? ReadVectors(outcome.Result.Body!.Value);
        return vectors is { Count: 2 } ? (Cosine(vectors[0], vectors[1]), null) : (null, "the embedding answer has no vectors");
    }

    /// <summary>The vectors of an OpenAI embeddings body (float arrays), in input order.</summary>
    internal static List<float[]>? ReadVectors(ReadOnlyMemory<byte> body)
    {
        using var doc = JsonDocument.Parse(body);
        if (!doc.RootElement.TryGetProperty("data", out var data)) return null;
        return [.. data.EnumerateArray().OrderBy(d => d.GetProperty("index").GetInt32())
            .Select(d => d.GetProperty("embedding") is { ValueKind: JsonValueKind.Array } arr ? arr.EnumerateArray().Select(x => x.GetSingle()).ToArray() : [])];
    }

    /// <summary>Cosine similarity clamped to [0, 1] (opposite answers are as bad as unrelated ones).</summary>
    public static double Cosine(float[] x, float[] y)
    {
        if (x.Length != y.Length || x.Length == 0) return 0;
        double dot = 0, nx = 0, ny = 0;
        for (var i = 0; i < x.Length; i++)
        {
            dot += x[i] * y[i];
            nx += x[i] * x[i];
            ny += y[i] * y[i];
        }
        return nx == 0 || ny == 0 ? 0 : Math.Clamp(dot / Math.Sqrt(nx * ny), 0, 1);
    }

    private sealed class Lane(string alias, ShadowOptions options)
    {
        private readonly Lock _lock = new();
        private long _hour = -1;
        private int _used;

        public string Alias { get; } = alias;
        public ShadowOptions Options { get; } = options;
        public ShadowCounters Counters { get; } = new();
        public ShadowBudget? Budget { get; init; }
        public Channel<CompletedChat> Queue { get; } = Channel.CreateBounded<CompletedChat>(new BoundedChannelOptions(options.QueueSize)
        {
            FullMode = BoundedChannelFullMode.Wait, // so TryWrite fails when full and the drop is counted
            SingleReader = options.Concurrency == 1,
        });

        public bool TakeHourlySlot(DateTimeOffset now)
        {
            if (Options.MaxRequestsPerHour is not { } max) return true;
            lock (_lock)
            {
                var hour = now.ToUnixTimeSeconds() / 3600;
                if (hour != _hour)
                {
                    _hour = hour;
                    _used = 0;
                }
                if (_used >= max) return false;
                _used++;
                return true;
            }
        }

        public void ReturnHourlySlot()
        {
            if (Options.MaxRequestsPerHour is null) return;
            lock (_lock) _used = Math.Max(0, _used - 1);
        }
    }

    [LoggerMessage(EventId = LogEvents.ShadowReplayFailed, Level = LogLevel.Warning, Message = "Shadow replay for alias {Alias} failed: {Error}")]
    private static partial void LogReplayFailed(ILogger logger, string alias, string error);
}
