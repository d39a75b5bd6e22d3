using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Translation;

/// <summary>Pieces of Anthropic's wire format shared by the response translator, the stream writer and the HTTP layer.</summary>
public static class AnthropicJson
{

    /// <summary>Anthropic <c>tool_use</c> blocks as an OpenAI assistant message's <c>tool_calls</c> (nothing when there are none).</summary>
    internal static void WriteToolCalls(Utf8JsonWriter w, IReadOnlyList<AnthropicBlock> toolUses)
    {
        if (toolUses.Count == 0)
        {
            return;
        }
        w.WriteStartArray("tool_calls"u8);
        foreach (var b in toolUses)
        {
            w.WriteStartObject();
            w.WriteString("id"u8, b.Id);
            w.WriteString("type"u8, "function"u8);
            w.WriteStartObject("function"u8);
            w.WriteString("name"u8, b.Name);
            // Anthropic tool input is always an object; anything else becomes empty arguments.
            w.WriteString("arguments"u8, b.Input is { ValueKind: JsonValueKind.Object } input ? input.GetRawText() : "{}");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static string NewMessageId() => "msg_" + Guid.CreateVersion7().ToString("N");

    /// <summary>OpenAI <c>finish_reason</c> → Anthropic <c>stop_reason</c>.</summary>
    public static string StopReason(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };

    /// <summary>Anthropic's error <c>type</c> for a gateway error, per Anthropic's documented error list.</summary>
    public static string ErrorType(GatewayError error) => error.Kind switch
    {
        GatewayErrorKind.InvalidRequest or GatewayErrorKind.UpstreamRejected => error.UpstreamStatus switch
        {
            404 => "not_found_error",
            413 => "request_too_large",
            _ => "invalid_request_error",
        },
        GatewayErrorKind.PayloadTooLarge => "request_too_large",
        GatewayErrorKind.HeadersTooLarge or GatewayErrorKind.UriTooLong => "invalid_request_error",
        GatewayErrorKind.Authentication => "authentication_error",
        GatewayErrorKind.PermissionDenied => "permission_error",
        GatewayErrorKind.ModelNotFound => "not_found_error",
        GatewayErrorKind.RateLimited or GatewayErrorKind.BudgetExceeded => "rate_limit_error",
        GatewayErrorKind.Overloaded or GatewayErrorKind.UpstreamOverloaded => "overloaded_error",
        GatewayErrorKind.UpstreamTimeout => "timeout_error",
        _ => "api_error",
    };

    /// <summary><c>{"type":"error","error":{"type","message"}}</c>, the body of every failed Messages call and of the <c>error</c> stream event.</summary>
    public static byte[] Error(GatewayError error, string? requestId = null)
    {
        using var buffer = new MemoryStream(256);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, "error"u8);
            w.WriteStartObject("error"u8);
            w.WriteString("type"u8, ErrorType(error));
            w.WriteString("message"u8, error.Message);
            w.WriteEndObject();
            if (requestId is not null) w.WriteString("request_id"u8, requestId);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Anthropic usage from OpenAI usage. OpenAI's prompt_tokens include cached and cache-written tokens; Anthropic's
    /// input_tokens exclude both and report them separately.
    /// </summary>
    /// <param name="cost">The gateway's cost extension (docs/metering.md), on the final usage only.</param>
    public static void WriteUsage(Utf8JsonWriter w, TokenUsage usage, int cacheCreation, bool inputOnly = false, Cost? cost = null)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("input_tokens"u8, Math.Max(0, usage.Input - usage.CachedInput - cacheCreation));
        w.WriteNumber("cache_creation_input_tokens"u8, cacheCreation);
        w.WriteNumber("cache_read_input_tokens"u8, usage.CachedInput);
        w.WriteNumber("output_tokens"u8, inputOnly ? 0 : usage.Output);
        if (cost is { } c) Metering.UsageCost.WriteMembers(w, c);
        w.WriteEndObject();
    }

    internal static TokenUsage ToUsage(OpenAiUsage? u, out int cacheCreation)
    {
        cacheCreation = u?.PromptDetails?.CacheCreationTokens ?? 0;
        return u is null ? default : new TokenUsage(u.PromptTokens, u.CompletionTokens,
            u.PromptDetails?.CachedTokens ?? 0, u.CompletionDetails?.ReasoningTokens ?? 0);
    }
}
