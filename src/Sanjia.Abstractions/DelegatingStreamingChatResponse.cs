namespace Sanjia.Abstractions;

/// <summary>How a stream ended, as its delegating wrappers are told once.</summary>
public enum StreamEnd
{
    /// <summary>Still running (only ever seen by a wrapper while it reads).</summary>
    Running,
    /// <summary><see cref="StreamingChatResponse.MoveNextAsync"/> returned false: the answer is complete.</summary>
    Ended,
    /// <summary>It threw a <see cref="GatewayException"/>: the upstream (or a stage) failed it mid-stream.</summary>
    Failed,
    /// <summary>Disposed before it ended or failed: the client went away, or the caller cancelled the read.</summary>
    Abandoned,
}

/// <summary>
/// A stream wrapped by a pipeline stage (like MEAI's <c>DelegatingChatClient</c> or YARP's <c>DelegatingStream</c>):
/// every member is forwarded to the inner stream unless the stage overrides it, and the stage is told exactly once
/// how the stream ended (<see cref="OnEndedAsync"/> or <see cref="OnFailedAsync"/>, before the read that saw it
/// returns, so the caller has not yet written its last event) and exactly once that it was disposed
/// (<see cref="OnDisposedAsync"/>, after the inner stream, so its usage is final). A stream disposed before it ended
/// is <see cref="StreamEnd.Abandoned"/>, and a read that ends or fails after that fires no hook: the three outcomes
/// exclude each other even when a dispose races a read. The hooks cost nothing when a stage does not override them.
/// </summary>
public abstract class DelegatingStreamingChatResponse(StreamingChatResponse inner) : StreamingChatResponse
{
    private int _end;
    private int _disposed;

    protected StreamingChatResponse Inner { get; } = inner;

    /// <summary>How the stream ended so far (<see cref="StreamEnd.Running"/> until it did).</summary>
    protected StreamEnd End => (StreamEnd)Volatile.Read(ref _end);

    public override ReadOnlyMemory<byte> Current => Inner.Current;
    public override int CurrentUsageEnd => Inner.CurrentUsageEnd;
    public override TokenUsage Usage => Inner.Usage;
    public override TimeSpan? TimeToFirstChunk => Inner.TimeToFirstChunk;
    public override bool UpstreamProduced => Inner.UpstreamProduced;

    // Not an async method: a read that completes at once (most chunks are already buffered) costs no state machine
    // here, and one that waits costs one, as a hand-written wrapper's would.
    public sealed override ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        ValueTask<bool> next;
        try
        {
            next = MoveNextCoreAsync(cancellationToken);
        }
        catch (GatewayException ex)
        {
            // An inner stream that throws before it returns a task.
            next = ValueTask.FromException<bool>(ex);
        }
        if (!next.IsCompletedSuccessfully)
        {
            return AwaitNextAsync(next);
        }
        var more = next.Result;
        if (more)
        {
            OnChunk();
            return next;
        }
        return TryEnd(StreamEnd.Ended) ? EndAsync() : next;
    }

    private async ValueTask<bool> AwaitNextAsync(ValueTask<bool> next)
    {
        bool more;
        try
        {
            more = await next.ConfigureAwait(false);
        }
        catch (GatewayException ex)
        {
            if (TryEnd(StreamEnd.Failed))
            {
                await OnFailedAsync(ex.Error).ConfigureAwait(false);
            }
            throw;
        }
        if (more)
        {
            OnChunk();
        }
        else if (TryEnd(StreamEnd.Ended))
        {
            await OnEndedAsync().ConfigureAwait(false);
        }
        return more;
    }

    private async ValueTask<bool> EndAsync()
    {
        await OnEndedAsync().ConfigureAwait(false);
        return false;
    }

    public sealed override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        TryEnd(StreamEnd.Abandoned);
        try
        {
            await DisposeCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            await OnDisposedAsync(End).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the next chunk; by default the inner stream's.</summary>
    protected virtual ValueTask<bool> MoveNextCoreAsync(CancellationToken cancellationToken) => Inner.MoveNextAsync(cancellationToken);

    /// <summary>Disposes what the stage holds; by default the inner stream. Runs once.</summary>
    protected virtual ValueTask DisposeCoreAsync() => Inner.DisposeAsync();

    /// <summary>A chunk was read and is <see cref="Current"/>: for per-chunk work that needs no waiting (counting, scanning).</summary>
    protected virtual void OnChunk()
    {
    }

    /// <summary>The stream ended normally. Runs once, and never with <see cref="OnFailedAsync"/>.</summary>
    protected virtual ValueTask OnEndedAsync() => ValueTask.CompletedTask;

    /// <summary>A read failed with <paramref name="error"/> (the exception is rethrown after). Runs once, and never with <see cref="OnEndedAsync"/>.</summary>
    protected virtual ValueTask OnFailedAsync(GatewayError error) => ValueTask.CompletedTask;

    /// <summary>The stream was disposed (the inner one already is); <paramref name="end"/> says how it had ended. Runs once, even when disposing failed.</summary>
    protected virtual ValueTask OnDisposedAsync(StreamEnd end) => ValueTask.CompletedTask;

    private bool TryEnd(StreamEnd end) => Interlocked.CompareExchange(ref _end, (int)end, (int)StreamEnd.Running) == (int)StreamEnd.Running;
}
