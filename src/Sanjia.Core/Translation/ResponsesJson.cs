using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Core.Translation;

/// <summary>One item of a Response's <c>output</c>, as built from a chat completion or assembled from stream chunks.</summary>
public sealed class ResponsesOutputItem
{
    public enum ItemKind { Reasoning, Message, FunctionCall }

    public required ItemKind Kind { get; init; }
    public required string Id { get; init; }
    public StringBuilder Text { get; } = new();
    public string? Refusal { get; set; }
    public List<OpenAiThinkingBlock> Thinking { get; } = [];
    public string? CallId { get; init; }
    public string? Name { get; init; }
    public StringBuilder Arguments { get; } = new();
}

/// <summary>What a Response echoes of its request, and its identity.</summary>
public sealed record ResponsesEnvelope(string Id, long CreatedAt, string Model, ResponsesRequest Request);

/// <summary>Pieces of the Responses wire format shared by the response translator and the stream writer.</summary>
public static class ResponsesJson
{
    /// <summary>Marks <c>encrypted_content</c> the gateway issued: signed thinking blocks a later hop needs back intact.</summary>
    private const string ThinkingPrefix = "sanjia.thinking.v1:";

    public static string NewResponseId() => "resp_" + Guid.CreateVersion7().ToString("N");

    public static string NewItemId(string prefix) => prefix + "_" + Guid.CreateVersion7().ToString("N");

    /// <summary>
    /// Thinking blocks travel in a reasoning item's <c>encrypted_content</c> (opaque to the client, returned unchanged
    /// on the next turn, as OpenAI documents for stateless use).
    /// </summary>
    public static string EncodeThinking(List<OpenAiThinkingBlock> blocks) =>
        ThinkingPrefix + Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(blocks, ResponsesJsonContext.Default.ListOpenAiThinkingBlock));

    /// <summary>The thinking blocks in <c>encrypted_content</c> the gateway issued; null for anything else (e.g. OpenAI's own).</summary>
    public static List<OpenAiThinkingBlock>? DecodeThinking(string? encrypted)
    {
        if (encrypted is null || !encrypted.StartsWith(ThinkingPrefix, StringComparison.Ordinal)) return null;
        try
        {
            return JsonSerializer.Deserialize(Convert.FromBase64String(encrypted[ThinkingPrefix.Length..]), ResponsesJsonContext.Default.ListOpenAiThinkingBlock);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Chat <c>finish_reason</c> → the Response's status and <c>incomplete_details.reason</c>.</summary>
    public static (string Status, string? IncompleteReason) Status(string? finishReason) => finishReason switch
    {
        "length" => ("incomplete", "max_output_tokens"),
        "content_filter" => ("incomplete", "content_filter"),
        _ => ("completed", null),
    };

    /// <summary>The documented <c>ResponseError.code</c> closest to a gateway error.</summary>
    public static string ErrorCode(GatewayError error) => error.Kind switch
    {
        GatewayErrorKind.RateLimited or GatewayErrorKind.BudgetExceeded or GatewayErrorKind.Overloaded => "rate_limit_exceeded",
        GatewayErrorKind.InvalidRequest or GatewayErrorKind.UpstreamRejected => "invalid_prompt",
        _ => "server_error",
    };

    /// <summary>A whole Response object: the envelope echoing the request, the output items, usage and status.</summary>
    public static void WriteResponse(Utf8JsonWriter w, ResponsesEnvelope e, string status, IReadOnlyList<ResponsesOutputItem> output,
        OpenAiUsage? usage, string? incompleteReason = null, GatewayError? error = null, long? completedAt = null, Cost? cost = null)
    {
        var r = e.Request;
        w.WriteStartObject();
        w.WriteString("id"u8, e.Id);
        w.WriteString("object"u8, "response"u8);
        w.WriteNumber("created_at"u8, e.CreatedAt);
        w.WriteString("status"u8, status);
        if (completedAt is { } done) w.WriteNumber("completed_at"u8, done); else w.WriteNull("completed_at"u8);
        if (error is null) w.WriteNull("error"u8);
        else
        {
            w.WriteStartObject("error"u8);
            w.WriteString("code"u8, ErrorCode(error));
            w.WriteString("message"u8, error.Message);
            w.WriteEndObject();
        }
        if (incompleteReason is null) w.WriteNull("incomplete_details"u8);
        else
        {
            w.WriteStartObject("incomplete_details"u8);
            w.WriteString("reason"u8, incompleteReason);
            w.WriteEndObject();
        }
        w.WritePropertyName("instructions"u8);
        if (r.Instructions is { } instructions) instructions.WriteTo(w); else w.WriteNullValue();
        if (r.MaxOutputTokens is { } max) w.WriteNumber("max_output_tokens"u8, max); else w.WriteNull("max_output_tokens"u8);
        w.WriteString("model"u8, e.Model);
        w.WriteStartArray("output"u8);
        foreach (var item in output) WriteItem(w, item, status == "in_progress" ? "in_progress" : "completed");
        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls"u8, r.ParallelToolCalls ?? true);
        w.WriteNull("previous_response_id"u8);
        if (r.Reasoning is { } reasoning)
        {
            w.WriteStartObject("reasoning"u8);
            if (reasoning.Effort is null) w.WriteNull("effort"u8); else w.WriteString("effort"u8, reasoning.Effort);
            if (reasoning.Summary is null) w.WriteNull("summary"u8); else w.WriteString("summary"u8, reasoning.Summary);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("reasoning"u8);
        }
        w.WriteBoolean("store"u8, false);
        w.WriteNumber("temperature"u8, r.Temperature ?? 1);
        w.WriteStartObject("text"u8);
        w.WritePropertyName("format"u8);
        if (r.Text?.Format is { ValueKind: JsonValueKind.Object } format) format.WriteTo(w);
        else w.WriteRawValue("""{"type":"text"}"""u8);
        w.WriteEndObject();
        w.WritePropertyName("tool_choice"u8);
        if (r.ToolChoice is { ValueKind: JsonValueKind.String or JsonValueKind.Object } choice) choice.WriteTo(w);
        else w.WriteStringValue("auto"u8);
        w.WriteStartArray("tools"u8);
        foreach (var t in r.Tools ?? [])
        {
            if (t.Type != "function") continue; // dropped built-in tools were not offered
            w.WriteStartObject();
            w.WriteString("type"u8, "function"u8);
            w.WriteString("name"u8, t.Name);
            if (t.Description is null) w.WriteNull("description"u8); else w.WriteString("description"u8, t.Description);
            w.WritePropertyName("parameters"u8);
            if (t.Parameters is { ValueKind: JsonValueKind.Object } p) p.WriteTo(w); else w.WriteNullValue();
            if (t.Strict is { } strict) w.WriteBoolean("strict"u8, strict); else w.WriteNull("strict"u8);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("top_p"u8, r.TopP ?? 1);
        w.WriteString("truncation"u8, "disabled"u8);
        if (usage is not null) WriteUsage(w, usage, cost); // the spec has no null usage: absent until known
        if (r.User is not null) w.WriteString("user"u8, r.User);
        w.WritePropertyName("metadata"u8);
        if (r.Metadata is { ValueKind: JsonValueKind.Object } metadata) metadata.WriteTo(w); else w.WriteRawValue("{}"u8);
        w.WriteEndObject();
    }

    /// <summary>One output item; <paramref name="status"/> is <c>in_progress</c> in <c>output_item.added</c>, else <c>completed</c>.</summary>
    public static void WriteItem(Utf8JsonWriter w, ResponsesOutputItem item, string status)
    {
        w.WriteStartObject();
        switch (item.Kind)
        {
            case ResponsesOutputItem.ItemKind.Reasoning:
                w.WriteString("type"u8, "reasoning"u8);
                w.WriteString("id"u8, item.Id);
                w.WriteStartArray("summary"u8);
                w.WriteEndArray();
                w.WriteStartArray("content"u8);
                if (item.Text.Length > 0 && status != "in_progress") WriteReasoningPart(w, item.Text.ToString());
                w.WriteEndArray();
                if (status != "in_progress" && item.Thinking.Count > 0) w.WriteString("encrypted_content"u8, EncodeThinking(item.Thinking));
                w.WriteString("status"u8, status);
                break;
            case ResponsesOutputItem.ItemKind.Message:
                w.WriteString("type"u8, "message"u8);
                w.WriteString("id"u8, item.Id);
                w.WriteString("status"u8, status);
                w.WriteString("role"u8, "assistant"u8);
                w.WriteStartArray("content"u8);
                if (status != "in_progress")
                {
                    if (item.Refusal is not null) WriteRefusalPart(w, item.Refusal);
                    else WriteTextPart(w, item.Text.ToString());
                }
                w.WriteEndArray();
                break;
            case ResponsesOutputItem.ItemKind.FunctionCall:
                w.WriteString("type"u8, "function_call"u8);
                w.WriteString("id"u8, item.Id);
                w.WriteString("call_id"u8, item.CallId);
                w.WriteString("name"u8, item.Name);
                w.WriteString("arguments"u8, status == "in_progress" ? "" : item.Arguments.ToString());
                w.WriteString("status"u8, status);
                break;
        }
        w.WriteEndObject();
    }

    public static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "output_text"u8);
        w.WriteString("text"u8, text);
        w.WriteStartArray("annotations"u8);
        w.WriteEndArray();
        w.WriteStartArray("logprobs"u8);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteRefusalPart(Utf8JsonWriter w, string refusal)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "refusal"u8);
        w.WriteString("refusal"u8, refusal);
        w.WriteEndObject();
    }

    public static void WriteReasoningPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "reasoning_text"u8);
        w.WriteString("text"u8, text);
        w.WriteEndObject();
    }

    /// <summary>Responses usage from Chat usage: input includes cached tokens in both; cache writes and reasoning kept.</summary>
    /// <param name="cost">The gateway's cost extension (docs/metering.md), on the final usage only.</param>
    public static void WriteUsage(Utf8JsonWriter w, OpenAiUsage u, Cost? cost = null)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("input_tokens"u8, u.PromptTokens);
        w.WriteStartObject("input_tokens_details"u8);
        w.WriteNumber("cached_tokens"u8, u.PromptDetails?.CachedTokens ?? 0);
        w.WriteNumber("cache_write_tokens"u8, u.PromptDetails?.CacheCreationTokens ?? 0);
        w.WriteEndObject();
        w.WriteNumber("output_tokens"u8, u.CompletionTokens);
        w.WriteStartObject("output_tokens_details"u8);
        w.WriteNumber("reasoning_tokens"u8, u.CompletionDetails?.ReasoningTokens ?? 0);
        w.WriteEndObject();
        w.WriteNumber("total_tokens"u8, u.PromptTokens + u.CompletionTokens);
        if (cost is { } c) Metering.UsageCost.WriteMembers(w, c);
        w.WriteEndObject();
    }

    /// <summary>Chat usage from the engine's token count, when the backend's own usage object is not at hand.</summary>
    public static OpenAiUsage FromTokens(TokenUsage t) => new()
    {
        PromptTokens = t.Input,
        CompletionTokens = t.Output,
        PromptDetails = new OpenAiTokenDetails { CachedTokens = t.CachedInput },
        CompletionDetails = new OpenAiTokenDetails { ReasoningTokens = t.Reasoning },
    };
}
