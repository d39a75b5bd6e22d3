using System.Reflection;
using Sanjia.Abstractions;

namespace Sanjia.Core.Tests.Streaming;

/// <summary>The one base every stage's stream wrapper is built on: forwarding, and hooks that fire once however the stream ends.</summary>
public class DelegatingStreamTests
{
    [Fact]
    public void Every_member_a_stream_can_override_is_forwarded()
    {
        // A member added to StreamingChatResponse later must be forwarded here too, or a wrapper would hide it.
        var overridable = typeof(StreamingChatResponse).GetMembers(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m is MethodInfo { IsVirtual: true, IsFinal: false } || m is PropertyInfo p && (p.GetMethod?.IsVirtual ?? false))
            .Where(m => m.DeclaringType != typeof(object))
            .Select(m => m.Name)
            .Where(n => !n.StartsWith("get_", StringComparison.Ordinal) && !n.StartsWith("set_", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        var declared = typeof(DelegatingStreamingChatResponse).GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Select(m => m.Name)
            .ToHashSet();

        Assert.Contains("UpstreamProduced", overridable);
        Assert.All(overridable, name => Assert.Contains(name, declared));
    }

    [Fact]
    public async Task Forwards_current_usage_timing_and_production_from_the_inner_stream()
    {
        var inner = new ScriptedStream(["a", "b"]) { UsageEndOnEveryChunk = 7, FirstChunk = TimeSpan.FromMilliseconds(42), Produced = true };
        await using var stream = new Probe(inner);

        Assert.True(await stream.MoveNextAsync(CancellationToken.None));

        Assert.Equal("a", System.Text.Encoding.UTF8.GetString(stream.Current.Span));
        Assert.Equal(7, stream.CurrentUsageEnd);
        Assert.Equal(new TokenUsage(3, 1), stream.Usage);
        Assert.Equal(TimeSpan.FromMilliseconds(42), stream.TimeToFirstChunk);
        Assert.True(stream.UpstreamProduced);
        inner.Produced = false;
        Assert.False(stream.UpstreamProduced);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stream_that_ends_fires_ended_before_the_last_read_returns_then_disposed_once(bool async)
    {
        var inner = new ScriptedStream(["a", "b"]) { Async = async };
        var stream = new Probe(inner);

        Assert.True(await stream.MoveNextAsync(CancellationToken.None));
        Assert.True(await stream.MoveNextAsync(CancellationToken.None));
        Assert.Empty(stream.Hooks);
        Assert.False(await stream.MoveNextAsync(CancellationToken.None));
        Assert.Equal(["ended"], stream.Hooks);
        Assert.False(await stream.MoveNextAsync(CancellationToken.None));
        await stream.DisposeAsync();
        await stream.DisposeAsync();

        Assert.Equal(["ended", "disposed:Ended"], stream.Hooks);
        Assert.Equal(2, stream.Chunks);
        Assert.Equal(1, inner.Disposals);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failing_stream_fires_failed_once_and_rethrows(bool async)
    {
        var inner = new ScriptedStream(["a"]) { FailAfter = 1, Async = async };
        var stream = new Probe(inner);

        Assert.True(await stream.MoveNextAsync(CancellationToken.None));
        var ex = await Assert.ThrowsAsync<GatewayException>(async () => await stream.MoveNextAsync(CancellationToken.None));
        await Assert.ThrowsAsync<GatewayException>(async () => await stream.MoveNextAsync(CancellationToken.None));
        await stream.DisposeAsync();

        Assert.Equal("broke", ex.Error.Message);
        Assert.Equal(["failed:broke", "disposed:Failed"], stream.Hooks);
    }

    [Fact]
    public async Task A_stream_disposed_before_its_end_is_abandoned_and_a_later_read_fires_nothing()
    {
        var inner = new ScriptedStream(["a", "b"]) { FailAfter = 1 };
        var stream = new Probe(inner);

        Assert.True(await stream.MoveNextAsync(CancellationToken.None));
        await stream.DisposeAsync();
        await Assert.ThrowsAsync<GatewayException>(async () => await stream.MoveNextAsync(CancellationToken.None));

        Assert.Equal(["disposed:Abandoned"], stream.Hooks);
    }

    [Fact]
    public async Task A_cancelled_read_is_not_a_failure_the_dispose_after_it_says_abandoned()
    {
        var inner = new ScriptedStream(["a", "b"]) { Async = true };
        var stream = new Probe(inner);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stream.MoveNextAsync(cts.Token));
        await stream.DisposeAsync();

        Assert.Equal(["disposed:Abandoned"], stream.Hooks);
    }

    [Fact]
    public async Task Disposed_runs_even_when_disposing_the_inner_stream_throws()
    {
        var inner = new ScriptedStream(["a"]) { ThrowOnDispose = true };
        var stream = new Probe(inner);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await stream.DisposeAsync());
        await stream.DisposeAsync();

        Assert.Equal(["disposed:Abandoned"], stream.Hooks);
        Assert.Equal(1, inner.Disposals);
    }

    [Fact]
    public async Task A_read_failing_while_another_thread_disposes_fires_exactly_one_outcome_and_one_dispose()
    {
        // Many rounds of a pending read that fails as a dispose runs on another thread: whichever wins, the stream
        // is either failed or abandoned, never both, and disposed once (the order differs between rounds).
        var outcomes = new Dictionary<string, int>();
        for (var round = 0; round < 200; round++)
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var inner = new ScriptedStream(["a"]) { FailAfter = 0, Gate = gate.Task };
            var stream = new Probe(inner);
            var read = Task.Run(async () =>
            {
                try
                {
                    await stream.MoveNextAsync(CancellationToken.None);
                }
                catch (GatewayException)
                {
                }
            });
            using var start = new Barrier(2);
            var dispose1 = Task.Run(async () => { start.SignalAndWait(); await stream.DisposeAsync(); });
            var dispose2 = Task.Run(async () => { start.SignalAndWait(); gate.SetResult(); await stream.DisposeAsync(); });
            await Task.WhenAll(read, dispose1, dispose2).WaitAsync(TimeSpan.FromSeconds(30));

            var hooks = stream.Hooks.ToList();
            Assert.Single(hooks, h => h.StartsWith("disposed:", StringComparison.Ordinal));
            var ends = hooks.Where(h => !h.StartsWith("disposed:", StringComparison.Ordinal)).ToList();
            Assert.True(ends.Count <= 1, string.Join(", ", hooks));
            var disposedAs = hooks.Single(h => h.StartsWith("disposed:", StringComparison.Ordinal));
            Assert.Equal(ends.Count == 1 ? "disposed:Failed" : "disposed:Abandoned", disposedAs);
            Assert.Equal(1, inner.Disposals);
            outcomes[disposedAs] = outcomes.GetValueOrDefault(disposedAs) + 1;
        }
        Assert.Equal(200, outcomes.Values.Sum());
    }

    /// <summary>A stage that records its hooks, in order.</summary>
    private sealed class Probe(StreamingChatResponse inner) : DelegatingStreamingChatResponse(inner)
    {
        private readonly List<string> _hooks = [];

        public IReadOnlyList<string> Hooks
        {
            get
            {
                lock (_hooks) return [.. _hooks];
            }
        }

        public int Chunks { get; private set; }

        protected override void OnChunk() => Chunks++;

        protected override ValueTask OnEndedAsync() => Add("ended");

        protected override ValueTask OnFailedAsync(GatewayError error) => Add("failed:" + error.Message);

        protected override ValueTask OnDisposedAsync(StreamEnd end) => Add("disposed:" + end);

        private ValueTask Add(string hook)
        {
            lock (_hooks) _hooks.Add(hook);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Chunks in order; optionally fails after some, waits on a gate, or completes its reads asynchronously.</summary>
    private sealed class ScriptedStream(string[] chunks) : StreamingChatResponse
    {
        private int _n;
        private int _disposals;
        public bool Async { get; init; }
        public int? FailAfter { get; init; }
        public Task? Gate { get; init; }
        public bool ThrowOnDispose { get; init; }
        public int UsageEndOnEveryChunk { get; init; } = -1;
        public TimeSpan? FirstChunk { init => TimeToFirstChunk = value; }
        public bool Produced { get; set; }
        public int Disposals => Volatile.Read(ref _disposals);

        public override ReadOnlyMemory<byte> Current => System.Text.Encoding.UTF8.GetBytes(chunks[_n - 1]);
        public override int CurrentUsageEnd => UsageEndOnEveryChunk;
        public override TokenUsage Usage => new(3, _n);
        public override bool UpstreamProduced => Produced;

        public override ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken) =>
            Async || Gate is not null ? NextAsync(cancellationToken) : new(Next());

        private async ValueTask<bool> NextAsync(CancellationToken cancellationToken)
        {
            if (Gate is not null) await Gate.ConfigureAwait(false);
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            return Next();
        }

        private bool Next()
        {
            if (_n == FailAfter) throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, "broke"));
            if (_n == chunks.Length) return false;
            _n++;
            return true;
        }

        public override ValueTask DisposeAsync()
        {
            Interlocked.Increment(ref _disposals);
            if (ThrowOnDispose) throw new InvalidOperationException("dispose failed");
            return ValueTask.CompletedTask;
        }
    }
}
