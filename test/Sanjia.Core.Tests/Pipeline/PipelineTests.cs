using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;

namespace Sanjia.Core.Tests.Pipeline;

public class PipelineTests
{
    private static ChatRequest Request(bool stream = false) =>
        ChatRequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(
            $$"""{"model":"chat","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hello there"}]}""")).Request!;

    private static (GatewayEngine Engine, RecordingLedger Ledger) Engine(params ScriptedProvider[] providers) => Engine(new RoutingOptions(), providers);

    /// <summary>Alias <c>chat</c> over <paramref name="providers"/> in order, on a fake clock that does not move.</summary>
    internal static (GatewayEngine Engine, RecordingLedger Ledger) Engine(RoutingOptions options, params ScriptedProvider[] providers)
    {
        var aliases = new Dictionary<string, AliasOptions>
        {
            ["chat"] = new() { Deployments = [.. providers.Select(p => new DeploymentOptions { Provider = p.Name, Model = "m-" + p.Name })] },
        };
        var errors = new ConfigErrors();
        var registry = new ModelRegistry(providers, aliases, errors, DateTimeOffset.UnixEpoch);
        Assert.False(errors.Any, string.Join("\n", errors.Errors));
        var ledger = new RecordingLedger();
        var time = new FakeTimeProvider();
        return (new GatewayEngine(registry, ledger, time, RoutingServiceCollectionExtensions.CreateRouter(options, time)), ledger);
    }

    [Theory]
    [InlineData(GatewayErrorKind.UpstreamFailed)]
    [InlineData(GatewayErrorKind.UpstreamUnreachable)]
    [InlineData(GatewayErrorKind.UpstreamTimeout)]
    [InlineData(GatewayErrorKind.RateLimited)]
    public async Task Falls_back_to_the_next_deployment_on_failures_another_may_not_share(GatewayErrorKind kind)
    {
        var a = new ScriptedProvider("a", new GatewayError(kind, "down"));
        var b = new ScriptedProvider("b", null);
        var (engine, ledger) = Engine(a, b);

        var (context, outcome) = await engine.ChatAsync(Request(), Caller.Master, "req_1", "/v1/chat/completions", 0, CancellationToken.None);

        Assert.True(outcome.IsSuccess);
        Assert.Equal("b/m-b", context!.Deployment!.Id);
        Assert.Equal(2, context.Attempts);
        Assert.Equal(1, context.Fallbacks);
        Assert.Equal(["m-a"], a.Calls);
        Assert.Equal(["m-b"], b.Calls);
        var entry = Assert.Single(ledger.Entries);
        Assert.Equal(200, entry.Status);
        Assert.Equal("b/m-b", entry.Deployment);
        Assert.Equal(2, entry.Attempt);
    }

    [Fact]
    public async Task Does_not_fall_back_on_client_errors()
    {
        var a = new ScriptedProvider("a", new GatewayError(GatewayErrorKind.UpstreamRejected, "bad") { UpstreamStatus = 422 });
        var b = new ScriptedProvider("b", null);
        var (engine, ledger) = Engine(a, b);

        var (_, outcome) = await engine.ChatAsync(Request(), Caller.Master, "req_1", "/v1/chat/completions", 0, CancellationToken.None);

        Assert.Equal(422, ErrorStatus.For(outcome.Error!));
        Assert.Empty(b.Calls);
        Assert.Equal(422, Assert.Single(ledger.Entries).Status);
    }

    [Fact]
    public async Task Unknown_models_are_not_found_and_not_metered_as_calls()
    {
        var (engine, _) = Engine(new ScriptedProvider("a", null));
        var (context, outcome) = await engine.ChatAsync(
            ChatRequestParser.Parse("""{"model":"nope","messages":[{"role":"user","content":"x"}]}"""u8.ToArray()).Request!,
            Caller.Master, "r", "/v1/chat/completions", 0, CancellationToken.None);
        Assert.Null(context);
        Assert.Equal(404, ErrorStatus.For(outcome.Error!));
    }

    [Fact]
    public async Task A_stream_is_metered_once_when_disposed_with_the_usage_so_far()
    {
        var a = new ScriptedProvider("a", null);
        var (engine, ledger) = Engine(a);
        var (_, outcome) = await engine.ChatAsync(Request(stream: true), Caller.Master, "req_s", "/v1/chat/completions", 0, CancellationToken.None);
        var stream = Assert.IsAssignableFrom<StreamingChatResponse>(outcome.Response);

        Assert.True(await stream.MoveNextAsync(CancellationToken.None));
        Assert.Empty(ledger.Entries); // nothing until the stream ends
        await stream.DisposeAsync();
        await stream.DisposeAsync();

        var entry = Assert.Single(ledger.Entries);
        Assert.Equal(499, entry.Status); // the consumer stopped before the end
        Assert.Equal(1, entry.Usage.Output);
        Assert.True(entry.Stream);
    }

    [Fact]
    public async Task A_stream_that_fails_midway_is_metered_with_the_failure()
    {
        var a = new ScriptedProvider("a", null) { FailStreamAfter = 2 };
        var (engine, ledger) = Engine(a);
        var (_, outcome) = await engine.ChatAsync(Request(stream: true), Caller.Master, "req_f", "/v1/chat/completions", 0, CancellationToken.None);
        await using (var stream = (StreamingChatResponse)outcome.Response!)
        {
            Assert.True(await stream.MoveNextAsync(CancellationToken.None));
            Assert.True(await stream.MoveNextAsync(CancellationToken.None));
            await Assert.ThrowsAsync<GatewayException>(() => stream.MoveNextAsync(CancellationToken.None).AsTask());
        }
        var entry = Assert.Single(ledger.Entries);
        Assert.Equal(502, entry.Status);
        Assert.Equal(2, entry.Usage.Output);
    }

    internal sealed class RecordingLedger : ILedger
    {
        public ConcurrentQueue<LedgerEntry> Entries { get; } = new();
        public void Record(LedgerEntry entry) => Entries.Enqueue(entry);
    }

    /// <summary>A provider whose one chat model fails with a given error or answers with a 5-chunk stream / fixed body.</summary>
    internal sealed class ScriptedProvider(string name, GatewayError? error) : IProvider, IChatBackend
    {
        public List<string> Calls { get; } = [];
        public int? FailStreamAfter { get; init; }
        public string Name => name;
        public string Describe => name;
        public string Description => name;
        public IChatBackend Chat => this;
        public IEmbeddingBackend? Embeddings => null;
        public IReadOnlyList<(string Model, ModelKind Kind)> Models => [];
        public bool AcceptsUnlistedModels => true;

        public ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken)
        {
            lock (Calls) Calls.Add(call.UpstreamModel);
            if (error is not null) return ValueTask.FromResult<ChatOutcome>(error);
            if (call.Request.Stream) return ValueTask.FromResult<ChatOutcome>(new CountingStream(FailStreamAfter));
            return ValueTask.FromResult<ChatOutcome>(new CompleteChatResponse("{}"u8.ToArray(), new TokenUsage(3, 4)));
        }
    }

    private sealed class CountingStream(int? failAfter) : StreamingChatResponse
    {
        private int _n;
        public override ReadOnlyMemory<byte> Current => "{}"u8.ToArray();
        public override TokenUsage Usage => new(3, _n);
        public override ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
        {
            if (_n == failAfter) throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, "broke"));
            return ValueTask.FromResult(++_n <= 5);
        }
    }
}
