namespace Sanjia.Testing.FakeUpstream;

/// <summary>What goes wrong on the wire, and when.</summary>
public enum StreamFault
{
    None,
    /// <summary>Abort the TCP connection after <see cref="FakeBehavior.FaultAfterChunks"/> chunks.</summary>
    Drop,
    /// <summary>Send <c>data: {not json</c> after the chunks, then end the response.</summary>
    Malformed,
    /// <summary>Go silent for <see cref="FakeBehavior.StallDuration"/> after the chunks, then carry on.</summary>
    Stall,
    /// <summary>Abort the connection before any response byte.</summary>
    ResetBeforeResponse,
}

/// <summary>A tool call the fake assistant makes instead of answering with text.</summary>
public sealed record FakeToolCall(string Name, string ArgumentsJson, int Pieces);

/// <summary>
/// How the fake upstream answers one chat or embedding request. Build one with the factory methods and combine
/// them with <c>with</c>, e.g. <c>FakeBehavior.Reply("hi") with { HeaderDelay = TimeSpan.FromSeconds(1) }</c>.
/// "Chunks" are SSE <c>data:</c> events carrying content (or tool-call fragments); the finish, usage and
/// <c>[DONE]</c> events come after them.
/// </summary>
public sealed record FakeBehavior
{
    /// <summary>The plain default: reply with the server's configured text.</summary>
    public static FakeBehavior Default { get; } = new();

    /// <summary>Exact reply text (no <c>{model}</c> substitution); null uses the server's default reply.</summary>
    public string? Content { get; init; }
    /// <summary>Stream exactly these content chunks (a complete answer is their concatenation); null splits the content by words.</summary>
    public IReadOnlyList<string>? Pieces { get; init; }

    public int? PromptTokens { get; init; }
    public int? CompletionTokens { get; init; }

    /// <summary>Answer with this status and an OpenAI error body instead of a completion.</summary>
    public int? StatusCode { get; init; }
    public string? ErrorMessage { get; init; }

    /// <summary>With <see cref="StatusCode"/>: this exact JSON body instead of the OpenAI error body (e.g. an error that also reports usage).</summary>
    public string? ErrorBody { get; init; }

    /// <summary>Extra response headers (e.g. <c>Retry-After</c>), sent on errors and successes alike.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    public TimeSpan HeaderDelay { get; init; }

    /// <summary>Stream this many generated words (<c>word1 word2 …</c>) when <see cref="Content"/> is null.</summary>
    public int? ChunkCount { get; init; }

    /// <summary>The pause between chunks; null uses the server's <see cref="FakeServerOptions.ChunkDelay"/>.</summary>
    public TimeSpan? ChunkDelay { get; init; }

    public StreamFault Fault { get; init; }
    public int FaultAfterChunks { get; init; }
    public TimeSpan StallDuration { get; init; }

    /// <summary>Leave usage out even when the caller asked for it, as some OpenAI-compatible vendors do.</summary>
    public bool OmitUsage { get; init; }

    public FakeToolCall? Tool { get; init; }

    /// <summary>Parallel tool calls after <see cref="Tool"/>, at tool-call indexes 1, 2, ….</summary>
    public IReadOnlyList<FakeToolCall> MoreTools { get; init; } = [];

    /// <summary>
    /// Stream the calls' fragments round-robin (index 0, 1, 0, 1, …) instead of one call after the other: OpenAI's
    /// stream identifies a fragment by its <c>index</c> and does not promise the order, and some vendors interleave.
    /// </summary>
    public bool InterleaveTools { get; init; }

    public static FakeBehavior Reply(string content, int? promptTokens = null, int? completionTokens = null) =>
        new() { Content = content, PromptTokens = promptTokens, CompletionTokens = completionTokens };

    public static FakeBehavior Status(int code, string? errorMessage = null, IDictionary<string, string>? headers = null) =>
        new()
        {
            StatusCode = code,
            ErrorMessage = errorMessage,
            Headers = headers is null ? null : new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase),
        };

    public static FakeBehavior DelayBeforeHeaders(TimeSpan delay) => new() { HeaderDelay = delay };

    public static FakeBehavior StreamChunks(int count, TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return new() { ChunkCount = count, ChunkDelay = delay };
    }

    public static FakeBehavior DropAfterChunks(int n) => Faulty(StreamFault.Drop, n);

    public static FakeBehavior MalformedAfterChunks(int n) => Faulty(StreamFault.Malformed, n);

    public static FakeBehavior StallAfterChunks(int n, TimeSpan stall) => Faulty(StreamFault.Stall, n) with { StallDuration = stall };

    public static FakeBehavior ResetBeforeResponse() => new() { Fault = StreamFault.ResetBeforeResponse };

    public static FakeBehavior NoUsage() => new() { OmitUsage = true };

    public static FakeBehavior ToolCall(string name, string argumentsJson, int pieces)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pieces, 1);
        return new() { Tool = new FakeToolCall(name, argumentsJson, pieces) };
    }

    private static FakeBehavior Faulty(StreamFault fault, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        return new() { Fault = fault, FaultAfterChunks = n };
    }
}
