using System.Text.Json;

namespace Sanjia.Testing.FakeUpstream;

/// <summary>What the fake needs from a chat request.</summary>
internal sealed record ChatRequestInfo(string Model, bool Stream, bool IncludeUsage, int PromptWords);

/// <summary>A request the real API would reject with 400, and the field it would name.</summary>
internal sealed record InvalidRequest(string Message, string? Param, string? Code);

/// <summary><c>POST /v1/chat/completions</c>: validation as the real API does it, then JSON or SSE per the behaviour.</summary>
internal static class ChatCompletions
{
    public static (ChatRequestInfo? Request, InvalidRequest? Error) Parse(ReadOnlyMemory<byte> body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return (null, new InvalidRequest(
                "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.",
                null, null));
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, new InvalidRequest("The request body must be a JSON object.", null, "invalid_type"));
            }
            if (!root.TryGetProperty("model", out var model)) return (null, Missing("model"));
            if (model.ValueKind != JsonValueKind.String) return (null, WrongType("model", "a string", model));
            if (!root.TryGetProperty("messages", out var messages)) return (null, Missing("messages"));
            if (messages.ValueKind != JsonValueKind.Array) return (null, WrongType("messages", "an array", messages));
            if (messages.GetArrayLength() == 0)
            {
                return (null, new InvalidRequest(
                    "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                    "messages", "empty_array"));
            }

            var words = 0;
            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                var at = $"messages[{index++}]";
                if (message.ValueKind != JsonValueKind.Object) return (null, WrongType(at, "an object", message));
                if (!message.TryGetProperty("role", out var role)) return (null, Missing(at + ".role"));
                if (role.ValueKind != JsonValueKind.String) return (null, WrongType(at + ".role", "a string", role));
                words += ContentWords(message);
            }

            var stream = false;
            if (root.TryGetProperty("stream", out var streamValue) && streamValue.ValueKind != JsonValueKind.Null)
            {
                if (streamValue.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return (null, WrongType("stream", "a boolean", streamValue));
                stream = streamValue.GetBoolean();
            }

            var includeUsage = stream
                && root.TryGetProperty("stream_options", out var options)
                && options.ValueKind == JsonValueKind.Object
                && options.TryGetProperty("include_usage", out var usage)
                && usage.ValueKind == JsonValueKind.True;

            return (new ChatRequestInfo(model.GetString()!, stream, includeUsage, words), null);
        }
    }

    private static int ContentWords(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content)) return 0;
        if (content.ValueKind == JsonValueKind.String) return OpenAiWire.CountWords(content.GetString()!);
        if (content.ValueKind != JsonValueKind.Array) return 0;
        var words = 0;
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                words += OpenAiWire.CountWords(text.GetString()!);
            }
        }
        return words;
    }

    internal static InvalidRequest Missing(string param) =>
        new($"Missing required parameter: '{param}'.", param, "missing_required_parameter");

    internal static InvalidRequest WrongType(string param, string expected, JsonElement got) =>
        new($"Invalid type for '{param}': expected {expected}, but got {Describe(got)} instead.", param, "invalid_type");

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    public static async Task RespondAsync(Exchange x, ChatRequestInfo request, FakeBehavior behavior, FakeServerOptions options)
    {
        var content = (behavior.Pieces is { } scripted ? string.Concat(scripted) : behavior.Content)
            ?? (behavior.ChunkCount is { } count ? GeneratedWords(count) : options.Reply.Replace("{model}", request.Model, StringComparison.Ordinal));
        List<FakeToolCall> tools = behavior.Tool is { } tool ? [tool, .. behavior.MoreTools] : [];
        var schedule = ToolSchedule(tools, behavior.InterleaveTools);
        var pieces = tools.Count > 0 ? schedule.Select(s => s.Piece).ToList() : behavior.Pieces is { } p ? [.. p] : SplitWords(content);

        // A scripted fault should strike mid-stream; a reply too short for that gets filler words instead.
        if (behavior.Fault is StreamFault.Drop or StreamFault.Malformed or StreamFault.Stall
            && behavior.Tool is null && behavior.Content is null && behavior.ChunkCount is null
            && pieces.Count <= behavior.FaultAfterChunks)
        {
            content = GeneratedWords(behavior.FaultAfterChunks + 2);
            pieces = SplitWords(content);
        }

        var reply = new Reply(
            Id: "chatcmpl-" + Guid.NewGuid().ToString("N")[..24],
            Created: DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            Model: request.Model,
            Fingerprint: options.SystemFingerprint,
            Content: content,
            Pieces: pieces,
            Tool: behavior.Tool,
            Tools: tools,
            ToolCallIds: [.. tools.Select(_ => "call_" + Guid.NewGuid().ToString("N")[..24])],
            Schedule: schedule,
            PromptTokens: behavior.PromptTokens ?? request.PromptWords + 2,
            CompletionTokens: behavior.CompletionTokens ?? pieces.Count);

        if (request.Stream)
        {
            await StreamAsync(x, reply, behavior, request.IncludeUsage && !behavior.OmitUsage, behavior.ChunkDelay ?? options.ChunkDelay).ConfigureAwait(false);
        }
        else
        {
            await CompleteAsync(x, reply, behavior).ConfigureAwait(false);
        }
    }

    private sealed record Reply(
        string Id, long Created, string Model, string? Fingerprint, string Content, IReadOnlyList<string> Pieces,
        FakeToolCall? Tool, IReadOnlyList<FakeToolCall> Tools, IReadOnlyList<string> ToolCallIds,
        IReadOnlyList<(int Tool, string Piece, bool First)> Schedule, int PromptTokens, int CompletionTokens);

    /// <summary>The order tool-call fragments are streamed in: each call's pieces, one call after the other or round-robin.</summary>
    private static List<(int Tool, string Piece, bool First)> ToolSchedule(List<FakeToolCall> tools, bool interleave)
    {
        var split = tools.Select(t => SplitEvenly(t.ArgumentsJson, t.Pieces)).ToList();
        var schedule = new List<(int, string, bool)>();
        if (!interleave)
        {
            for (var t = 0; t < split.Count; t++) schedule.AddRange(split[t].Select((p, i) => (t, p, i == 0)));
            return schedule;
        }
        for (var round = 0; round < split.Max(s => (int?)s.Count).GetValueOrDefault(); round++)
        {
            for (var t = 0; t < split.Count; t++)
            {
                if (round < split[t].Count) schedule.Add((t, split[t][round], round == 0));
            }
        }
        return schedule;
    }

    private static async Task CompleteAsync(Exchange x, Reply reply, FakeBehavior behavior)
    {
        var body = OpenAiWire.Json(w =>
        {
            w.WriteStartObject();
            WriteHead(w, reply, "chat.completion");
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            if (reply.Tool is not null)
            {
                w.WriteNull("content");
                w.WriteNull("refusal");
                w.WriteStartArray("tool_calls");
                for (var t = 0; t < reply.Tools.Count; t++)
                {
                    w.WriteStartObject();
                    w.WriteString("id", reply.ToolCallIds[t]);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", reply.Tools[t].Name);
                    w.WriteString("arguments", reply.Tools[t].ArgumentsJson);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            else
            {
                w.WriteString("content", reply.Content);
                w.WriteNull("refusal");
            }
            w.WriteStartArray("annotations");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", reply.Tool is null ? "stop" : "tool_calls");
            w.WriteEndObject();
            w.WriteEndArray();
            if (!behavior.OmitUsage) WriteUsage(w, reply);
            w.WriteEndObject();
        });

        switch (behavior.Fault)
        {
            case StreamFault.Drop:
                await x.WriteHalfJsonThenCutAsync(body).ConfigureAwait(false);
                return;
            case StreamFault.Malformed:
                await x.WriteJsonAsync(200, "{not json"u8.ToArray()).ConfigureAwait(false);
                return;
            case StreamFault.Stall:
                // Headers go out, then nothing for a while: the shape of a hung upstream after it accepted the request.
                x.Response.StatusCode = 200;
                x.Response.ContentType = "application/json";
                x.Response.ContentLength = body.Length;
                await x.Response.StartAsync(x.Aborted).ConfigureAwait(false);
                await x.Response.Body.FlushAsync(x.Aborted).ConfigureAwait(false);
                await x.DelayAsync(behavior.StallDuration).ConfigureAwait(false);
                await x.Response.Body.WriteAsync(body, x.Aborted).ConfigureAwait(false);
                return;
            default:
                await x.WriteJsonAsync(200, body).ConfigureAwait(false);
                return;
        }
    }

    private static async Task StreamAsync(Exchange x, Reply reply, FakeBehavior behavior, bool includeUsage, TimeSpan chunkDelay)
    {
        x.StartEventStream();
        await x.Response.StartAsync(x.Aborted).ConfigureAwait(false);

        // A fault scripted past the end of the content strikes just before the finish chunk.
        var faultAt = Math.Min(behavior.FaultAfterChunks, reply.Pieces.Count);
        for (var i = 0; i <= reply.Pieces.Count; i++)
        {
            if (behavior.Fault != StreamFault.None && i == faultAt)
            {
                switch (behavior.Fault)
                {
                    case StreamFault.Drop:
                        await x.AbortAsync(afterOutput: true).ConfigureAwait(false);
                        return;
                    case StreamFault.Malformed:
                        await x.WriteEventAsync("{not json"u8.ToArray(), countAsChunk: false).ConfigureAwait(false);
                        return;
                    case StreamFault.Stall:
                        await x.DelayAsync(behavior.StallDuration).ConfigureAwait(false);
                        break;
                }
            }
            if (i == reply.Pieces.Count) break;
            if (i > 0) await x.DelayAsync(chunkDelay).ConfigureAwait(false);
            await x.WriteEventAsync(Chunk(reply, includeUsage, w => WriteDelta(w, reply, i), finishReason: null)).ConfigureAwait(false);
        }

        if (reply.Pieces.Count == 0)
        {
            // Nothing to say still opens with the assistant's role, as the real API does.
            await x.WriteEventAsync(Chunk(reply, includeUsage, w => { w.WriteString("role", "assistant"); w.WriteString("content", ""); }, null)).ConfigureAwait(false);
        }
        await x.WriteEventAsync(Chunk(reply, includeUsage, _ => { }, reply.Tool is null ? "stop" : "tool_calls"), countAsChunk: false).ConfigureAwait(false);
        if (includeUsage)
        {
            await x.WriteEventAsync(UsageChunk(reply), countAsChunk: false).ConfigureAwait(false);
        }
        await x.WriteEventAsync("[DONE]"u8.ToArray(), countAsChunk: false).ConfigureAwait(false);
    }

    private static void WriteDelta(Utf8JsonWriter w, Reply reply, int i)
    {
        if (i == 0) w.WriteString("role", "assistant");
        if (reply.Tool is null)
        {
            w.WriteString("content", reply.Pieces[i]);
            return;
        }
        if (i == 0)
        {
            w.WriteNull("content");
            w.WriteNull("refusal");
        }
        var (t, piece, first) = reply.Schedule[i];
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        w.WriteNumber("index", t);
        if (first)
        {
            w.WriteString("id", reply.ToolCallIds[t]);
            w.WriteString("type", "function");
        }
        w.WriteStartObject("function");
        if (first) w.WriteString("name", reply.Tools[t].Name);
        w.WriteString("arguments", piece);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private static byte[] Chunk(Reply reply, bool includeUsage, Action<Utf8JsonWriter> delta, string? finishReason) =>
        OpenAiWire.Json(w =>
        {
            w.WriteStartObject();
            WriteHead(w, reply, "chat.completion.chunk");
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            delta(w);
            w.WriteEndObject();
            w.WriteNull("logprobs");
            OpenAiWire.WriteStringOrNull(w, "finish_reason", finishReason);
            w.WriteEndObject();
            w.WriteEndArray();
            // The real API sends "usage": null on every chunk but the last only when the caller asked for usage.
            if (includeUsage) w.WriteNull("usage");
            w.WriteEndObject();
        });

    private static byte[] UsageChunk(Reply reply) =>
        OpenAiWire.Json(w =>
        {
            w.WriteStartObject();
            WriteHead(w, reply, "chat.completion.chunk");
            w.WriteStartArray("choices");
            w.WriteEndArray();
            WriteUsage(w, reply);
            w.WriteEndObject();
        });

    private static void WriteHead(Utf8JsonWriter w, Reply reply, string objectType)
    {
        w.WriteString("id", reply.Id);
        w.WriteString("object", objectType);
        w.WriteNumber("created", reply.Created);
        w.WriteString("model", reply.Model);
        if (reply.Fingerprint is not null) w.WriteString("system_fingerprint", reply.Fingerprint);
    }

    private static void WriteUsage(Utf8JsonWriter w, Reply reply)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", reply.PromptTokens);
        w.WriteNumber("completion_tokens", reply.CompletionTokens);
        w.WriteNumber("total_tokens", reply.PromptTokens + reply.CompletionTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", 0);
        w.WriteNumber("audio_tokens", 0);
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details");
        w.WriteNumber("reasoning_tokens", 0);
        w.WriteNumber("audio_tokens", 0);
        w.WriteNumber("accepted_prediction_tokens", 0);
        w.WriteNumber("rejected_prediction_tokens", 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    internal static string GeneratedWords(int count) =>
        string.Join(' ', Enumerable.Range(1, count).Select(i => "word" + i));

    /// <summary>Splits text into word chunks that concatenate back to it exactly: each chunk carries its leading spaces.</summary>
    internal static List<string> SplitWords(string text)
    {
        var pieces = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            var piece = text[start..i];
            if (pieces.Count > 0 && string.IsNullOrWhiteSpace(piece)) pieces[^1] += piece;
            else pieces.Add(piece);
        }
        return pieces;
    }

    /// <summary>Splits text into at most <paramref name="count"/> non-empty pieces of near-equal length, never inside a surrogate pair.</summary>
    internal static List<string> SplitEvenly(string text, int count)
    {
        if (text.Length == 0) return [""];
        count = Math.Clamp(count, 1, text.Length);
        var pieces = new List<string>(count);
        var start = 0;
        for (var k = 1; k <= count && start < text.Length; k++)
        {
            var end = k == count ? text.Length : Math.Max(start + 1, (int)((long)text.Length * k / count));
            if (end < text.Length && char.IsLowSurrogate(text[end])) end++;
            pieces.Add(text[start..end]);
            start = end;
        }
        return pieces;
    }
}
