using System.Buffers;
using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Caching;

/// <summary>
/// Turns a stored answer into the other form a request may ask for (docs/caching.md): the chunks of a stored stream
/// assembled into one <c>chat.completion</c>, or a stored complete answer synthesized into a stream. Both follow the
/// OpenAPI schemas <c>CreateChatCompletionResponse</c> and <c>CreateChatCompletionStreamResponse</c>, keeping the
/// stored <c>id</c>, <c>created</c> and <c>model</c>.
/// </summary>
internal static class CachedAnswers
{
    private sealed class ToolCall
    {
        public string? Id, Type, Name;
        public StringBuilder Arguments { get; } = new();
    }

    private sealed class Choice
    {
        public string Role = "assistant";
        public StringBuilder? Content, Reasoning, Refusal;
        public SortedDictionary<int, ToolCall>? Tools;
        public string? FinishReason;
    }

    /// <summary>A stream's chunks as one complete answer: deltas joined per choice (content, reasoning, refusal, tool calls by index).</summary>
    public static byte[] Assemble(StoredChunk[] chunks, TokenUsage usage)
    {
        string? id = null, model = null, fingerprint = null;
        long created = 0;
        var choices = new SortedDictionary<int, Choice>();
        foreach (var chunk in chunks)
        {
            using var doc = JsonDocument.Parse(chunk.Payload);
            var root = doc.RootElement;
            if (id is null && root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String) id = i.GetString();
            if (model is null && root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String) model = m.GetString();
            if (created == 0 && root.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.Number) created = c.GetInt64();
            if (fingerprint is null && root.TryGetProperty("system_fingerprint", out var f) && f.ValueKind == JsonValueKind.String) fingerprint = f.GetString();
            if (!root.TryGetProperty("choices", out var list) || list.ValueKind != JsonValueKind.Array) continue;
            foreach (var choice in list.EnumerateArray())
            {
                var index = choice.TryGetProperty("index", out var ix) && ix.ValueKind == JsonValueKind.Number ? ix.GetInt32() : 0;
                if (!choices.TryGetValue(index, out var acc)) choices[index] = acc = new Choice();
                if (choice.TryGetProperty("finish_reason", out var fr) && fr.ValueKind == JsonValueKind.String) acc.FinishReason = fr.GetString();
                if (!choice.TryGetProperty("delta", out var delta) || delta.ValueKind != JsonValueKind.Object) continue;
                if (delta.TryGetProperty("role", out var role) && role.ValueKind == JsonValueKind.String) acc.Role = role.GetString()!;
                Append(delta, "content", ref acc.Content);
                Append(delta, "reasoning_content", ref acc.Reasoning);
                Append(delta, "refusal", ref acc.Refusal);
                if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    foreach (var call in calls.EnumerateArray())
                    {
                        var k = call.TryGetProperty("index", out var ci) && ci.ValueKind == JsonValueKind.Number ? ci.GetInt32() : 0;
                        acc.Tools ??= [];
                        if (!acc.Tools.TryGetValue(k, out var tool)) acc.Tools[k] = tool = new ToolCall();
                        if (call.TryGetProperty("id", out var tid) && tid.ValueKind == JsonValueKind.String) tool.Id = tid.GetString();
                        if (call.TryGetProperty("type", out var tt) && tt.ValueKind == JsonValueKind.String) tool.Type = tt.GetString();
                        if (call.TryGetProperty("function", out var fn) && fn.ValueKind == JsonValueKind.Object)
                        {
                            if (fn.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String) tool.Name = n.GetString();
                            if (fn.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String) tool.Arguments.Append(a.GetString());
                        }
                    }
                }
            }
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, id ?? OpenAiChatJson.NewCompletionId());
            w.WriteString("object"u8, "chat.completion"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, model ?? "");
            if (fingerprint is not null) w.WriteString("system_fingerprint"u8, fingerprint);
            w.WriteStartArray("choices"u8);
            foreach (var (index, choice) in choices)
            {
                w.WriteStartObject();
                w.WriteNumber("index"u8, index);
                w.WriteStartObject("message"u8);
                w.WriteString("role"u8, choice.Role);
                if (choice.Content is null) w.WriteNull("content"u8);
                else w.WriteString("content"u8, choice.Content.ToString());
                if (choice.Reasoning is not null) w.WriteString("reasoning_content"u8, choice.Reasoning.ToString());
                if (choice.Refusal is null) w.WriteNull("refusal"u8);
                else w.WriteString("refusal"u8, choice.Refusal.ToString());
                if (choice.Tools is { Count: > 0 } tools)
                {
                    w.WriteStartArray("tool_calls"u8);
                    foreach (var tool in tools.Values)
                    {
                        w.WriteStartObject();
                        w.WriteString("id"u8, tool.Id ?? "");
                        w.WriteString("type"u8, tool.Type ?? "function");
                        w.WriteStartObject("function"u8);
                        w.WriteString("name"u8, tool.Name ?? "");
                        w.WriteString("arguments"u8, tool.Arguments.ToString());
                        w.WriteEndObject();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
                w.WriteNull("logprobs"u8);
                w.WriteString("finish_reason"u8, choice.FinishReason ?? "stop");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            OpenAiChatJson.WriteUsage(w, usage);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void Append(JsonElement delta, string name, ref StringBuilder? into)
    {
        if (delta.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
        {
            (into ??= new StringBuilder()).Append(v.GetString());
        }
    }

    /// <summary>
    /// A complete answer as a stream: per choice, one chunk with the whole message as its delta (role, content,
    /// reasoning, refusal, tool calls) and one with its finish reason; then the usage chunk.
    /// </summary>
    public static StoredChunk[] Synthesize(byte[] body, TokenUsage usage)
    {
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        var id = root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : OpenAiChatJson.NewCompletionId();
        var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
        var created = root.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt64() : 0;
        var chunks = new List<StoredChunk>();
        var finishes = new List<(int Index, string? Reason)>();
        if (root.TryGetProperty("choices", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var choice in list.EnumerateArray())
            {
                var index = choice.TryGetProperty("index", out var ix) && ix.ValueKind == JsonValueKind.Number ? ix.GetInt32() : 0;
                finishes.Add((index, choice.TryGetProperty("finish_reason", out var fr) && fr.ValueKind == JsonValueKind.String ? fr.GetString() : "stop"));
                chunks.Add(new StoredChunk(Chunk(id, created, model, w =>
                {
                    w.WriteNumber("index"u8, index);
                    w.WriteStartObject("delta"u8);
                    if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var p in message.EnumerateObject())
                        {
                            // The delta carries the message's fields a delta has, tool calls numbered for the stream.
                            if (p.NameEquals("tool_calls") && p.Value.ValueKind == JsonValueKind.Array)
                            {
                                w.WriteStartArray("tool_calls"u8);
                                var k = 0;
                                foreach (var call in p.Value.EnumerateArray())
                                {
                                    w.WriteStartObject();
                                    w.WriteNumber("index"u8, k++);
                                    foreach (var f in call.EnumerateObject()) f.WriteTo(w);
                                    w.WriteEndObject();
                                }
                                w.WriteEndArray();
                            }
                            else if (p.Value.ValueKind != JsonValueKind.Null
                                && (p.NameEquals("role") || p.NameEquals("content") || p.NameEquals("refusal") || p.NameEquals("reasoning_content")))
                            {
                                p.WriteTo(w);
                            }
                        }
                    }
                    w.WriteEndObject();
                    w.WriteNull("logprobs"u8);
                    w.WriteNull("finish_reason"u8);
                }), -1, false));
            }
        }
        foreach (var (index, reason) in finishes)
        {
            chunks.Add(new StoredChunk(Chunk(id, created, model, w =>
            {
                w.WriteNumber("index"u8, index);
                w.WriteStartObject("delta"u8);
                w.WriteEndObject();
                w.WriteNull("logprobs"u8);
                w.WriteString("finish_reason"u8, reason ?? "stop");
            }), -1, false));
        }
        chunks.Add(UsageChunk(id, created, model, usage));
        return [.. chunks];
    }

    /// <summary>The usage-only chunk (<c>"choices": []</c>) for the stored usage; a stream whose caller asked for usage ends with it.</summary>
    public static StoredChunk UsageChunk(string id, long created, string model, TokenUsage usage)
    {
        var payload = OpenAiChatJson.UsageChunk(id, created, model, usage);
        return new StoredChunk(payload, Metering.UsageCost.FindUsageEnd(payload), UsageOnly: true);
    }

    /// <summary>The id, created and model of a stored chunk (for the usage chunk added to a stream stored without one).</summary>
    public static (string Id, long Created, string Model) Header(ReadOnlySpan<byte> chunk)
    {
        string? id = null, model = null;
        long created = 0;
        var reader = new Utf8JsonReader(chunk);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            var isId = name.SequenceEqual("id"u8);
            var isModel = name.SequenceEqual("model"u8);
            var isCreated = name.SequenceEqual("created"u8);
            reader.Read();
            if (isId && reader.TokenType == JsonTokenType.String) id = reader.GetString();
            else if (isModel && reader.TokenType == JsonTokenType.String) model = reader.GetString();
            else if (isCreated && reader.TokenType == JsonTokenType.Number) reader.TryGetInt64(out created);
            else reader.Skip();
        }
        return (id ?? OpenAiChatJson.NewCompletionId(), created, model ?? "");
    }

    private static byte[] Chunk(string id, long created, string model, Action<Utf8JsonWriter> choice)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            OpenAiChatJson.WriteChunkHeader(w, id, created, model);
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            choice(w);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
