using System.Text;
using Sanjia.Abstractions;

namespace Sanjia.Testing;

/// <summary>
/// A stream that yields scripted chunk payloads. <see cref="Usage"/> counts the chunks delivered so far as output.
/// It can fail (<c>upstream_failed</c>) or stall (wait until its read is cancelled) after a given number of chunks.
/// </summary>
public sealed class ScriptedStream(IReadOnlyList<ReadOnlyMemory<byte>> chunks, int promptTokens) : StreamingChatResponse
{
    private int _delivered;
    private int _disposed;

    /// <summary>After this many chunks the next read throws a <see cref="GatewayException"/> (upstream_failed).</summary>
    public int? FailAfter { get; init; }

    /// <summary>After this many chunks the next read waits until its token is cancelled (an upstream gone silent).</summary>
    public int? StallAfter { get; init; }

    /// <summary>Whether <see cref="DisposeAsync"/> has run.</summary>
    public bool Disposed => Volatile.Read(ref _disposed) != 0;

    /// <summary><paramref name="count"/> chunks of <c>{}</c>, prompt 3 tokens.</summary>
    public static ScriptedStream Counting(int count = 5, int? failAfter = null, int? stallAfter = null) =>
        new([.. Enumerable.Repeat<ReadOnlyMemory<byte>>("{}"u8.ToArray(), count)], 3) { FailAfter = failAfter, StallAfter = stallAfter };

    /// <summary>One <c>chat.completion.chunk</c> content delta a word, prompt 2 tokens.</summary>
    public static ScriptedStream Words(params string[] words) =>
        new([.. words.Select(w => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($$$"""{"choices":[{"index":0,"delta":{"content":"{{{w}}}"}}]}"""))], 2);

    public override ReadOnlyMemory<byte> Current => chunks[_delivered - 1];

    public override TokenUsage Usage => new(promptTokens, _delivered);

    public override bool UpstreamProduced => _delivered > 0;

    public override async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        if (_delivered == FailAfter) throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, "broke"));
        if (_delivered == StallAfter) await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        if (_delivered >= chunks.Count) return false;
        _delivered++;
        return true;
    }

    public override ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        return ValueTask.CompletedTask;
    }
}
