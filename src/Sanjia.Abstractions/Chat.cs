namespace Sanjia.Abstractions;

/// <summary>One call to one deployment: the request, the upstream model name, and the request's identity.</summary>
public sealed record ChatCall(ChatRequest Request, string UpstreamModel, string RequestId);

/// <summary>The result of a chat call: a response, or an expected error.</summary>
public readonly struct ChatOutcome
{
    private ChatOutcome(ChatResponse? response, GatewayError? error) { Response = response; Error = error; }

    public ChatResponse? Response { get; }
    public GatewayError? Error { get; }
    public bool IsSuccess => Response is not null;

    public static implicit operator ChatOutcome(ChatResponse response) => new(response, null);
    public static implicit operator ChatOutcome(GatewayError error) => new(null, error);
}

/// <summary>A successful answer, complete or streaming, always in OpenAI Chat Completions format.</summary>
/// <remarks>Which deployment answered is the request's <c>ChatContext.Deployment</c>, not the response's.</remarks>
public abstract class ChatResponse : IAsyncDisposable
{
    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A complete <c>chat.completion</c> JSON body with its usage.</summary>
public sealed class CompleteChatResponse(ReadOnlyMemory<byte> body, TokenUsage usage) : ChatResponse
{
    public ReadOnlyMemory<byte> Body { get; } = body;
    public TokenUsage Usage { get; } = usage;

    /// <summary>
    /// Offset of the closing brace of the body's <c>usage</c> object when the adapter already knows it (it scanned the
    /// body), or -1 (then whoever adds the cost finds it).
    /// </summary>
    public int UsageEnd { get; init; } = -1;
}

/// <summary>
/// A stream of <c>chat.completion.chunk</c> JSON payloads. <see cref="Usage"/> is final once the stream ends or is
/// disposed: reported by the upstream when it did, else estimated from what was produced.
/// </summary>
public abstract class StreamingChatResponse : ChatResponse
{
    /// <summary>Reads the next chunk payload (without the SSE framing). Returns false at the normal end.</summary>
    /// <exception cref="GatewayException">The upstream failed mid-stream.</exception>
    public abstract ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken);

    public abstract ReadOnlyMemory<byte> Current { get; }

    public abstract TokenUsage Usage { get; }

    /// <summary>
    /// Offset of the closing brace of <see cref="Current"/>'s <c>usage</c> object, or -1 when the chunk carries no
    /// usage. Set by the adapter that has already read the chunk, so the cost can be added to that one chunk without
    /// reading it again (docs/metering.md); wrappers forward it with <see cref="Current"/>.
    /// </summary>
    public virtual int CurrentUsageEnd => -1;

    /// <summary>
    /// Time the first chunk arrived, if any did. Adapters measure it from their upstream call; the router replaces it
    /// with the time from the request's arrival on the engine's clock, which is what every stage above it (and the
    /// ledger) sees, as <see cref="DelegatingStreamingChatResponse"/> forwards it.
    /// </summary>
    public virtual TimeSpan? TimeToFirstChunk { get; protected set; }

    /// <summary>
    /// True once the upstream has sent any stream event (even one that is then rejected as malformed or an error):
    /// it had started producing, so a failed attempt has consumed tokens and is metered on its own.
    /// </summary>
    public virtual bool UpstreamProduced => TimeToFirstChunk is not null;
}

/// <summary>A provider adapter for chat: calls one upstream (or a local engine) and speaks OpenAI format back.</summary>
public interface IChatBackend
{
    /// <summary>A short description used in errors, e.g. "deepseek (OpenAI-compatible)".</summary>
    string Description { get; }

    ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken);
}

/// <summary>
/// A chat backend that can count a request's prompt tokens exactly as its generation would (local models: their own
/// tokenizer over the templated prompt), so <c>count_tokens</c> agrees with the usage the answer reports. Backends
/// without it are estimated (docs/protocols.md, "count_tokens").
/// </summary>
public interface IPromptTokenCounter
{
    /// <summary>The prompt tokens, or an error for a request the backend would refuse; null when it cannot count this one.</summary>
    ValueTask<(int? Tokens, GatewayError? Error)> CountPromptTokensAsync(ChatCall call, CancellationToken cancellationToken);
}
