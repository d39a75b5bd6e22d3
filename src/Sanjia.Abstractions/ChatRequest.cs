namespace Sanjia.Abstractions;

/// <summary>
/// An OpenAI Chat Completions request as the gateway holds it: the caller's exact bytes plus the few fields the
/// engine needs, read in one pass. Adapters that speak the same protocol forward <see cref="Body"/> with only the
/// model rewritten; adapters that need the full structure parse it themselves.
/// </summary>
public sealed class ChatRequest
{
    public required ReadOnlyMemory<byte> Body { get; init; }
    public required string Model { get; init; }
    /// <summary>Byte offset of the <c>model</c> value (its opening quote) in <see cref="Body"/>.</summary>
    public int ModelValueStart { get; init; } = -1;
    /// <summary>Byte length of the <c>model</c> value, quotes included.</summary>
    public int ModelValueLength { get; init; }
    public bool Stream { get; init; }
    /// <summary>The caller asked for the final usage chunk (<c>stream_options.include_usage</c>).</summary>
    public bool IncludeUsage { get; init; }
    /// <summary>The caller sent a <c>stream_options</c> object (so the gateway must not add its own).</summary>
    public bool HasStreamOptions { get; init; }
    /// <summary><c>max_completion_tokens</c>, else <c>max_tokens</c>.</summary>
    public int? MaxTokens { get; init; }
    public int N { get; init; } = 1;
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public bool HasTools { get; init; }
    public bool HasResponseFormat { get; init; }
    public bool HasImages { get; init; }
    /// <summary>
    /// The prompt's text (message contents joined), for token estimates and context-window checks. Built on first
    /// use by <see cref="PromptTextReader"/>: most requests never need it, and building it costs a copy of the prompt.
    /// </summary>
    public string PromptText
    {
        get => _promptText ??= PromptTextReader?.Invoke(Body) ?? "";
        init => _promptText = value;
    }

    /// <summary>Extracts <see cref="PromptText"/> from <see cref="Body"/> when it is first asked for.</summary>
    public Func<ReadOnlyMemory<byte>, string>? PromptTextReader { private get; init; }

    private string? _promptText;

    /// <summary>The same request with another body (a guardrail's redaction), where <c>model</c>'s value now starts at <paramref name="modelValueStart"/>.</summary>
    public ChatRequest WithBody(ReadOnlyMemory<byte> body, int modelValueStart) => new()
    {
        Body = body, Model = Model, ModelValueStart = modelValueStart, ModelValueLength = ModelValueLength, Stream = Stream,
        IncludeUsage = IncludeUsage, HasStreamOptions = HasStreamOptions, MaxTokens = MaxTokens, N = N, Temperature = Temperature,
        TopP = TopP, HasTools = HasTools, HasResponseFormat = HasResponseFormat, HasImages = HasImages,
        PromptTextReader = PromptTextReader, RequestedTimeout = RequestedTimeout,
    };
    /// <summary>The caller's own per-attempt timeout (the <c>x-sanjia-timeout</c> header), clamped by the router to configured bounds.</summary>
    public TimeSpan? RequestedTimeout { get; set; }

    /// <summary>The caller's <c>Cache-Control</c> directives for the response cache (docs/caching.md).</summary>
    public CacheDirectives CacheControl { get; set; }
}

/// <summary>What a request's <c>Cache-Control</c> header asks of the response cache.</summary>
[Flags]
public enum CacheDirectives : byte
{
    None = 0,
    /// <summary>Do not answer from the cache; do store the answer.</summary>
    NoCache = 1,
    /// <summary>Neither answer from the cache nor store the answer.</summary>
    NoStore = 2,
}
