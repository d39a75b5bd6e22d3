using Sanjia.Abstractions;

namespace Sanjia.Providers.Local.Tests;

/// <summary>
/// The per-model bound: each test builds its own provider with small limits. A stream that is opened and not read
/// holds its slot, which makes "the slot is busy" a fact rather than a race against a fast tiny model.
/// </summary>
public sealed class LocalConcurrencyTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private static string Short(int maxTokens = 8, bool stream = false) =>
        LocalHarness.Request(extra: new() { ["max_tokens"] = maxTokens, ["stream"] = stream });

    [Fact]
    public async Task Several_concurrent_requests_all_succeed()
    {
        using var local = new LocalHarness(o => { o.MaxConcurrency = 2; o.MaxQueue = 16; });

        var tasks = Enumerable.Range(0, 6).Select(i => Task.Run(async () =>
        {
            if (i % 2 == 0)
            {
                return (await local.CompleteAsync(Short(20))).Usage;
            }
            return (await LocalHarness.ReadAllAsync(await local.StreamAsync(Short(20, stream: true)))).Usage;
        })).ToArray();
        var usages = await Task.WhenAll(tasks).WaitAsync(Generous);

        Assert.All(usages, u => Assert.True(u.Input > 0 && u.Output is > 0 and <= 20));
        Assert.Equal(0, local.Provider.ChatModels[0].Limiter.Admitted);
    }

    [Fact]
    public async Task Requests_beyond_the_queue_are_turned_away_as_overloaded()
    {
        using var local = new LocalHarness(o => { o.MaxConcurrency = 1; o.MaxQueue = 1; });
        var holder = await local.StreamAsync(Short(400, stream: true));
        Assert.True(await holder.MoveNextAsync(CancellationToken.None));

        // One of these waits for the held slot; the other three find the queue full.
        var waiting = Enumerable.Range(0, 4).Select(_ => local.ChatAsync(Short(400)).AsTask()).ToList();
        var rejected = new List<ChatOutcome>();
        for (var i = 0; i < 3; i++)
        {
            var done = await Task.WhenAny(waiting).WaitAsync(Generous);
            waiting.Remove(done);
            rejected.Add(await done);
        }
        Assert.All(rejected, o =>
        {
            Assert.Equal(GatewayErrorKind.Overloaded, o.Error!.Kind);
            Assert.Equal("model_overloaded", o.Error.Code);
            Assert.Equal(TimeSpan.FromSeconds(1), o.Error.RetryAfter);
            Assert.Equal(429, ErrorStatus.For(o.Error));
        });
        var queued = Assert.Single(waiting);
        Assert.False(queued.IsCompleted);

        await holder.DisposeAsync();
        var outcome = await queued.WaitAsync(Generous);
        Assert.True(outcome.IsSuccess, outcome.Error?.Message);
        await outcome.Response!.DisposeAsync();
    }

    [Fact]
    public async Task Cancelling_a_stream_stops_it_and_frees_the_slot()
    {
        // No queue: if the slot were still held, the next request would be turned away at once.
        using var local = new LocalHarness(o => { o.MaxConcurrency = 1; o.MaxQueue = 0; });
        using var cts = new CancellationTokenSource();
        var stream = await local.StreamAsync(Short(1500, stream: true));
        for (var i = 0; i < 4; i++)
        {
            Assert.True(await stream.MoveNextAsync(cts.Token));
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.MoveNextAsync(cts.Token).AsTask());
        await stream.DisposeAsync();
        Assert.InRange(stream.Usage.Output, 3, 1499);

        var (json, _) = await local.CompleteAsync(Short(5));
        Assert.Equal("length", LocalHarness.FinishReason(json));
    }

    [Fact]
    public async Task Cancelling_a_complete_request_stops_generation_and_frees_the_slot()
    {
        using var local = new LocalHarness(o => { o.MaxConcurrency = 1; o.MaxQueue = 0; o.ContextSize = 2048; });
        await local.CompleteAsync(Short(1)); // load the weights first so the cancellation lands mid-generation

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => local.ChatAsync(Short(2000), cts.Token).AsTask());

        Assert.Equal(0, local.Provider.ChatModels[0].Limiter.Admitted);
        var (json, _) = await local.CompleteAsync(Short(5));
        Assert.Equal(5, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Disposing_a_stream_early_frees_the_slot()
    {
        using var local = new LocalHarness(o => { o.MaxConcurrency = 1; o.MaxQueue = 0; });
        var stream = await local.StreamAsync(Short(500, stream: true));
        Assert.True(await stream.MoveNextAsync(CancellationToken.None));

        var busy = await local.ChatAsync(Short(5));
        Assert.Equal(GatewayErrorKind.Overloaded, busy.Error?.Kind);

        await stream.DisposeAsync();
        var (json, _) = await local.CompleteAsync(Short(5));
        Assert.Equal("length", LocalHarness.FinishReason(json));
    }

    [Fact]
    public async Task A_caller_that_gives_up_while_queued_frees_its_place()
    {
        using var local = new LocalHarness(o => { o.MaxConcurrency = 1; o.MaxQueue = 1; });
        var holder = await local.StreamAsync(Short(400, stream: true));

        using var cts = new CancellationTokenSource();
        var impatient = local.ChatAsync(Short(5), cts.Token).AsTask();
        Assert.False(impatient.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient.WaitAsync(Generous));

        var patient = local.ChatAsync(Short(5)).AsTask();
        await holder.DisposeAsync();
        var outcome = await patient.WaitAsync(Generous);
        Assert.True(outcome.IsSuccess, outcome.Error?.Message);
    }
}
