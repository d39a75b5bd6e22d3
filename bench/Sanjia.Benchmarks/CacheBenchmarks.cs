using BenchmarkDotNet.Attributes;
using Sanjia.Abstractions;
using Sanjia.Core.Caching;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;

namespace Sanjia.Benchmarks;

/// <summary>
/// The response cache on the engine's path (docs/caching.md): a whole request through metering, the cache stage and
/// (on a miss) a stub backend. <see cref="CacheOff"/> is the same engine with the cache not applying to the model,
/// the baseline; <see cref="HitSmall"/> and <see cref="HitLarge"/> answer from the cache (key over the 200-byte and
/// the 64 KiB request, lookup, the hit's ledger row); <see cref="StreamHit"/> replays a stored stream to its end.
/// </summary>
[Config(typeof(HotPathConfig))]
public class CacheBenchmarks
{
    private GatewayEngine _engine = null!;
    private ChatRequest _off = null!, _small = null!, _large = null!, _stream = null!;

    [GlobalSetup]
    public void Setup()
    {
        var provider = new StubProvider();
        var cached = new AliasOptions { Deployments = [new DeploymentOptions { Provider = "stub", Model = "model-a" }], Cache = new AliasCacheOptions { Enabled = true, AnyTemperature = true } };
        var aliases = new Dictionary<string, AliasOptions>(StringComparer.OrdinalIgnoreCase)
        {
            ["fast"] = cached,
            ["plain"] = new AliasOptions { Deployments = [new DeploymentOptions { Provider = "stub", Model = "model-a" }] },
        };
        var errors = new ConfigErrors();
        var registry = new ModelRegistry([provider], aliases, errors, DateTimeOffset.UnixEpoch, cache: new CacheOptions());
        errors.ThrowIfAny();
        _engine = new GatewayEngine(registry, new CountingLedger(), TimeProvider.System,
            RoutingServiceCollectionExtensions.CreateRouter(new RoutingOptions(), TimeProvider.System),
            p => p.UseResponseCache(new ResponseCache(64L * 1024 * 1024, TimeProvider.System), pricer: null));
        _off = Parse(System.Text.Encoding.UTF8.GetString(Payloads.SmallRequest).Replace("\"fast\"", "\"plain\"", StringComparison.Ordinal));
        _small = Parse(System.Text.Encoding.UTF8.GetString(Payloads.SmallRequest));
        _large = Parse(System.Text.Encoding.UTF8.GetString(Payloads.LargeRequest));
        _stream = Parse(System.Text.Encoding.UTF8.GetString(Payloads.StreamRequest).Replace("\"stream\":true", "\"stream\":true,\"temperature\":0", StringComparison.Ordinal));
        // Warm the entries: the first of each is the miss that stores it.
        HitSmall().AsTask().GetAwaiter().GetResult();
        HitLarge().AsTask().GetAwaiter().GetResult();
        StreamHit().AsTask().GetAwaiter().GetResult();
    }

    private static ChatRequest Parse(string json) => Sanjia.Core.Json.ChatRequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(json)).Request!;

    [Benchmark(Baseline = true)]
    public ValueTask<bool> CacheOff() => RunAsync(_off);

    [Benchmark]
    public ValueTask<bool> HitSmall() => RunAsync(_small);

    [Benchmark]
    public ValueTask<bool> HitLarge() => RunAsync(_large);

    [Benchmark]
    public async ValueTask<bool> StreamHit()
    {
        var (_, outcome) = await _engine.ChatAsync(_stream, Caller.Master, "req-1", "/v1/chat/completions", TimeProvider.System.GetTimestamp(), CancellationToken.None);
        await using var stream = (StreamingChatResponse)outcome.Response!;
        while (await stream.MoveNextAsync(CancellationToken.None))
        {
        }
        return true;
    }

    private async ValueTask<bool> RunAsync(ChatRequest request)
    {
        var (_, outcome) = await _engine.ChatAsync(request, Caller.Master, "req-1", "/v1/chat/completions", TimeProvider.System.GetTimestamp(), CancellationToken.None);
        return outcome.IsSuccess;
    }

    private sealed class StubProvider : IProvider, IChatBackend
    {
        public string Name => "stub";
        public string Describe => Name;
        public IChatBackend? Chat => this;
        public IEmbeddingBackend? Embeddings => null;
        public IReadOnlyList<(string Model, ModelKind Kind)> Models { get; } = [("model-a", ModelKind.Chat)];
        public bool AcceptsUnlistedModels => true;
        public string Description => Name;

        public ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken) => ValueTask.FromResult<ChatOutcome>(call.Request.Stream
            ? new ChunkStream()
            : new CompleteChatResponse(Payloads.Completion, new TokenUsage(12, 2)));
    }

    /// <summary>20 content chunks and a usage chunk, as an upstream stream after parsing.</summary>
    private sealed class ChunkStream : StreamingChatResponse
    {
        private int _i = -1;
        public override ReadOnlyMemory<byte> Current => _i < 20 ? Payloads.ContentChunk : Payloads.UsageChunk;
        public override int CurrentUsageEnd => _i < 20 ? -1 : Sanjia.Core.Metering.UsageCost.FindUsageEnd(Payloads.UsageChunk);
        public override TokenUsage Usage => new(12, 20);
        public override ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken) => new(++_i <= 20);
    }

    private sealed class CountingLedger : ILedger
    {
        private long _count;
        public void Record(LedgerEntry entry) => Interlocked.Increment(ref _count);
    }
}
