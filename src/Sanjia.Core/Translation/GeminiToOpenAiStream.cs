using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Streaming;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Core.Translation;

/// <summary>
/// Turns the chunks of Gemini's <c>streamGenerateContent?alt=sse</c> into OpenAI <c>chat.completion.chunk</c>
/// payloads: a role chunk first, then per Gemini chunk the thought text (<c>reasoning_content</c>), text and function
/// calls (each whole, at the next tool-call index) as deltas, a finish chunk when a candidate reports its
/// <c>finishReason</c>, and the usage chunk at the end when asked for. Gemini ends its stream by closing it; a
/// stream that closes before a finish reason was seen is an interruption. One instance per stream.
/// </summary>
public sealed class GeminiToOpenAiStream(string model, bool includeUsage, long created) : IStreamTranslator
{
    private readonly string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private readonly Dictionary<int, int> _toolsByCandidate = [];
    private readonly HashSet<int> _finished = [];
    private GeminiUsage? _usage;
    private bool _started;

    /// <summary>A candidate has reported its finish reason (candidates finish together, in the last chunk).</summary>
    public bool Finished => _finished.Count > 0;

    /// <summary>Gemini ends a stream by closing it; only a stream whose last chunk carried a finish reason is complete.</summary>
    public bool EndsOnClose => true;

    public string EndMarker => "a finish reason";

    public IReadOnlyList<byte[]> Close() => End() is { } usage ? [usage] : [];

    public TokenUsage Usage => GeminiJson.Usage(_usage);

    /// <summary>Translates one SSE <c>data:</c> payload into zero or more chunk payloads.</summary>
    public IReadOnlyList<byte[]> Translate(ReadOnlySpan<byte> data)
    {
        GeminiResponse? r;
        try
        {
            r = JsonSerializer.Deserialize(data, GeminiJsonContext.Default.GeminiResponse);
        }
        catch (JsonException)
        {
            r = null;
        }
        if (r is null)
        {
            throw new GatewayException(UpstreamErrors.MalformedChunk("The Gemini backend sent a malformed stream chunk."));
        }
        if (r.Error is { } error)
        {
            var kind = error.Status switch
            {
                "RESOURCE_EXHAUSTED" => GatewayErrorKind.RateLimited,
                "UNAVAILABLE" => GatewayErrorKind.UpstreamOverloaded,
                _ => GatewayErrorKind.UpstreamFailed,
            };
            throw new GatewayException(UpstreamErrors.MidStream(kind, $"The Gemini backend reported an error mid-stream: {error.Message}"));
        }
        if (r.UsageMetadata is not null) _usage = r.UsageMetadata;
        var output = new List<byte[]>();
        if (!_started)
        {
            _started = true;
            output.Add(Chunk(w => Choice(w, 0, d => { d.WriteString("role"u8, "assistant"u8); d.WriteString("content"u8, ""u8); }, null)));
        }
        var candidates = r.Candidates ?? (r.PromptFeedback?.BlockReason is not null ? [new GeminiCandidate { FinishReason = "SAFETY" }] : []);
        for (var i = 0; i < candidates.Count; i++)
        {
            var c = candidates[i];
            var index = c.Index ?? i;
            foreach (var p in c.Content?.Parts ?? [])
            {
                if (p.FunctionCall is not null)
                {
                    var toolIndex = _toolsByCandidate.TryGetValue(index, out var n) ? n : 0;
                    _toolsByCandidate[index] = toolIndex + 1;
                    output.Add(Chunk(w => Choice(w, index, d =>
                    {
                        d.WriteStartArray("tool_calls"u8);
                        GeminiToOpenAiResponse.WriteToolCall(d, p, toolIndex);
                        d.WriteEndArray();
                    }, null)));
                }
                else
                {
                    if (!string.IsNullOrEmpty(p.Text))
                    {
                        var field = p.Thought == true ? "reasoning_content" : "content";
                        output.Add(Chunk(w => Choice(w, index, d => d.WriteString(field, p.Text), null)));
                    }
                    // A text part's signature (often alone, on an empty last part) travels as a marked thinking block;
                    // its thought text has already streamed as reasoning_content.
                    if (p.ThoughtSignature is { Length: > 0 } signature)
                    {
                        output.Add(Chunk(w => Choice(w, index, d => GeminiJson.WriteTextSignatureBlock(d, "", signature), null)));
                    }
                }
            }
            if (c.FinishReason is { } finish)
            {
                _finished.Add(index);
                var reason = GeminiJson.FinishReason(finish, _toolsByCandidate.GetValueOrDefault(index) > 0);
                output.Add(Chunk(w => Choice(w, index, _ => { }, reason)));
            }
        }
        return output;
    }

    /// <summary>The usage chunk, once the stream has ended (Gemini closes it after the last chunk).</summary>
    public byte[]? End() => includeUsage ? Chunk(w => { }, usage: true) : null;

    private static void Choice(Utf8JsonWriter w, int index, Action<Utf8JsonWriter> delta, string? finishReason)
    {
        w.WriteStartObject();
        w.WriteNumber("index"u8, index);
        w.WriteStartObject("delta"u8);
        delta(w);
        w.WriteEndObject();
        w.WriteNull("logprobs"u8);
        if (finishReason is null) w.WriteNull("finish_reason"u8); else w.WriteString("finish_reason"u8, finishReason);
        w.WriteEndObject();
    }

    private byte[] Chunk(Action<Utf8JsonWriter> choice, bool usage = false)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, _id);
            w.WriteString("object"u8, "chat.completion.chunk"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, model);
            w.WriteStartArray("choices"u8);
            if (!usage) choice(w);
            w.WriteEndArray();
            if (usage) AnthropicToOpenAiResponse.WriteUsage(w, Usage, 0);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
