using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;
using Sanjia.Core.Security;
using Sanjia.Core.Telemetry;

namespace Sanjia.Benchmarks;

/// <summary>The per-request engine work: key check, model resolution, and a whole pipeline run with a stub backend.</summary>
[Config(typeof(HotPathConfig))]
public class EngineBenchmarks
{
    private const string Key = "sk-bench-master-key-0123456789";
    private MasterKey _masterKey = null!;
    private ModelRegistry _registry = null!;
    private GatewayEngine _engine = null!;
    private ChatRequest _request = null!;
    private GatewayEngine _observed = null!;
    private TracerProvider _tracer = null!;
    private MeterProvider _meters = null!;
    private static readonly ActivitySource Http = new("Bench.Http");

    [GlobalSetup]
    public void Setup()
    {
        _masterKey = MasterKey.Load(Key, Path.GetTempPath());
        var providers = Enumerable.Range(0, 8).Select(i => new StubProvider($"provider{i}")).ToList();
        var aliases = new Dictionary<string, AliasOptions>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < 32; i++)
        {
            aliases[$"alias-{i}"] = new AliasOptions { Deployments = [new DeploymentOptions { Provider = $"provider{i % 8}", Model = "model-a" }, new DeploymentOptions { Provider = $"provider{(i + 1) % 8}", Model = "model-b" }] };
        }
        aliases["fast"] = new AliasOptions { Deployments = [new DeploymentOptions { Provider = "provider0", Model = "model-a" }] };
        var errors = new ConfigErrors();
        _registry = new ModelRegistry(providers, aliases, errors, DateTimeOffset.UnixEpoch);
        errors.ThrowIfAny();
        _engine = new GatewayEngine(_registry, new CountingLedger(), TimeProvider.System,
            RoutingServiceCollectionExtensions.CreateRouter(new RoutingOptions(), TimeProvider.System));
        _request = Sanjia.Core.Json.ChatRequestParser.Parse(Payloads.SmallRequest).Request!;
    }

    /// <summary>
    /// Its own set-up: the listeners are process-wide, so the other benchmarks (telemetry off: nothing listens) run
    /// without them. BenchmarkDotNet runs only this set-up, not <see cref="Setup"/>, for this benchmark.
    /// </summary>
    private AccessLog? _accessLog;

    [GlobalSetup(Target = nameof(ChatThroughEngineObserved))]
    public void SetupObserved()
    {
        Setup();
        // Telemetry on, as by default: the OpenTelemetry SDK's metrics (read every 60 s; a Prometheus scrape reads
        // the same aggregates) and traces (default sampler, batch processor, an exporter that drops the batches so
        // that the figure is the request path's plus the batching), a server span standing in for ASP.NET Core's,
        // and the access line formatted as the gateway writes it (JSON, its own writer, to a stream that drops it).
        _meters = Sdk.CreateMeterProviderBuilder().AddMeter(GatewayTelemetry.Name)
            .AddReader(new PeriodicExportingMetricReader(new DroppingExporter<Metric>(), 60_000)).Build()!;
        _tracer = Sdk.CreateTracerProviderBuilder().AddSource(GatewayTelemetry.Name, Http.Name)
            .AddProcessor(new BatchActivityExportProcessor(new DroppingExporter<Activity>())).Build()!;
        _observed = new GatewayEngine(_registry, TimeProvider.System, RoutingServiceCollectionExtensions.CreateRouter(new RoutingOptions(), TimeProvider.System),
            new PipelineBuilder().UseMetering(new CountingLedger(), TimeProvider.System, null, _accessLog = new AccessLog(new FormattingLogger(),
                new AccessLogWriter(Stream.Null, AccessLogLayout.Json, "yyyy-MM-ddTHH:mm:ss.fffzzz", utcTimestamp: true)), new TelemetrySettings()));
    }

    [GlobalCleanup(Target = nameof(ChatThroughEngineObserved))]
    public void Cleanup()
    {
        _tracer?.Dispose();
        _meters?.Dispose();
        _accessLog?.Dispose();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("auth")]
    public bool MasterKeyMatches() => _masterKey.Matches(Key);

    [Benchmark, BenchmarkCategory("auth")]
    public bool MasterKeyRejects() => _masterKey.Matches("sk-wrong-key-0123456789abcdefgh");

    [Benchmark(Baseline = true), BenchmarkCategory("resolve")]
    public ResolvedModel? ResolveAlias() => _registry.Resolve("alias-17");

    [Benchmark, BenchmarkCategory("resolve")]
    public ResolvedModel? ResolveListedModel() => _registry.Resolve("provider3/model-a");

    [Benchmark, BenchmarkCategory("resolve")]
    public ResolvedModel? ResolveUnlistedModel() => _registry.Resolve("provider3/some-new-model");

    /// <summary>Resolve, metering stage, routing choice, stub backend, ledger record: the engine's own cost per request.</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("engine")]
    public async Task<bool> ChatThroughEngine()
    {
        var (_, outcome) = await _engine.ChatAsync(_request, Caller.Master, "req-1", "/v1/chat/completions", TimeProvider.System.GetTimestamp(), CancellationToken.None);
        return outcome.IsSuccess;
    }

    /// <summary>The same request with telemetry on (metrics, a server span and a client span, the access log).</summary>
    [Benchmark, BenchmarkCategory("engine")]
    public async Task<bool> ChatThroughEngineObserved()
    {
        using var server = Http.StartActivity("POST /v1/chat/completions", ActivityKind.Server);
        var (_, outcome) = await _observed.ChatAsync(_request, new Caller("key-1", "team-1", IsMaster: false), "req-1", "/v1/chat/completions",
            TimeProvider.System.GetTimestamp(), CancellationToken.None);
        return outcome.IsSuccess;
    }

    private sealed class DroppingExporter<T> : BaseExporter<T> where T : class
    {
        public override ExportResult Export(in Batch<T> batch)
        {
            foreach (var _ in batch)
            {
            }
            return ExportResult.Success;
        }
    }

    /// <summary>An enabled logger that formats every message, as a console logger does before queueing it.</summary>
    private sealed class FormattingLogger : Microsoft.Extensions.Logging.ILogger
    {
        public int Length;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => Length += formatter(state, exception).Length;
    }

    private sealed class StubProvider(string name) : IProvider, IChatBackend
    {
        public string Name { get; } = name;
        public string Describe => Name;
        public IChatBackend? Chat => this;
        public IEmbeddingBackend? Embeddings => null;
        public IReadOnlyList<(string Model, ModelKind Kind)> Models { get; } = [("model-a", ModelKind.Chat), ("model-b", ModelKind.Chat)];
        public bool AcceptsUnlistedModels => true;
        public string Description => Name;

        public ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken) =>
            ValueTask.FromResult<ChatOutcome>(new CompleteChatResponse(Payloads.Completion, new TokenUsage(12, 2)));
    }

    /// <summary>Stands in for the channel ledger: what the request path pays is building the entry, not storing it.</summary>
    private sealed class CountingLedger : ILedger
    {
        private long _count;
        public void Record(LedgerEntry entry) => Interlocked.Increment(ref _count);
    }
}
