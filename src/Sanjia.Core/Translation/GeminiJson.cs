using System.Text;
using Sanjia.Abstractions;

namespace Sanjia.Core.Translation;

/// <summary>Pieces of Gemini's wire format shared by the request, response and stream translators.</summary>
public static class GeminiJson
{
    /// <summary>
    /// Separates a tool call id from the Gemini thought signature riding in it. Gemini requires the signature back on
    /// its function call part; Chat has no field for it, so it travels in the id (base64url, which every protocol's id
    /// alphabet accepts), the way LiteLLM does it.
    /// </summary>
    private const string SignatureMarker = "__sig_";

    /// <summary>
    /// Google's documented placeholder signature for function calls the model did not produce itself (history from
    /// another model, or rebuilt by a client): it tells Gemini 3 to skip thought-signature validation for that step.
    /// </summary>
    public const string SkipSignatureValidation = "skip_thought_signature_validator";

    /// <summary>
    /// Marks a Gemini thought signature carried in a <c>thinking_blocks</c> entry: Gemini signs text answers too (on
    /// their last part) and recommends returning the signature. The marker keeps it from Anthropic (which would refuse
    /// it as a thinking signature) and finds it again on the way back to Gemini.
    /// </summary>
    public const string TextSignaturePrefix = "sanjia.gemini.v1:";

    /// <summary>The Gemini text-part signature inside a <c>thinking_blocks</c> signature, or null if it is not one.</summary>
    public static string? TextSignature(string? blockSignature) =>
        blockSignature is not null && blockSignature.StartsWith(TextSignaturePrefix, StringComparison.Ordinal) ? blockSignature[TextSignaturePrefix.Length..] : null;

    /// <summary>A thinking block carrying a Gemini text-part signature, with the thought text it goes with.</summary>
    public static void WriteTextSignatureBlock(System.Text.Json.Utf8JsonWriter w, string thinking, string signature)
    {
        w.WriteStartArray("thinking_blocks"u8);
        w.WriteStartObject();
        w.WriteString("type"u8, "thinking"u8);
        w.WriteString("thinking"u8, thinking);
        w.WriteString("signature"u8, TextSignaturePrefix + signature);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    public static string ToolCallId(string? geminiId, string? signature)
    {
        var id = string.IsNullOrEmpty(geminiId) ? "call_" + Guid.NewGuid().ToString("N")[..24] : geminiId;
        if (string.IsNullOrEmpty(signature)) return id;
        var bytes = Encoding.UTF8.GetBytes(signature);
        return id + SignatureMarker + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The Gemini call id and thought signature inside a tool call id (either may be null).</summary>
    public static (string? Id, string? Signature) SplitToolCallId(string? toolCallId)
    {
        if (toolCallId is null) return (null, null);
        var at = toolCallId.IndexOf(SignatureMarker, StringComparison.Ordinal);
        if (at < 0) return (toolCallId, null);
        var b64 = toolCallId[(at + SignatureMarker.Length)..].Replace('-', '+').Replace('_', '/');
        b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
        try
        {
            return (toolCallId[..at], Encoding.UTF8.GetString(Convert.FromBase64String(b64)));
        }
        catch (FormatException)
        {
            return (toolCallId, null);
        }
    }

    /// <summary>Gemini <c>finishReason</c> → OpenAI <c>finish_reason</c>.</summary>
    public static string FinishReason(string? finishReason, bool calledTools) => finishReason switch
    {
        "MAX_TOKENS" => "length",
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" or "LANGUAGE" => "content_filter",
        _ when calledTools => "tool_calls",
        _ => "stop",
    };

    /// <summary>OpenAI counts reasoning inside completion tokens; Gemini reports thoughts separately.</summary>
    public static TokenUsage Usage(GeminiUsage? u) => u is null ? default : new TokenUsage(
        u.PromptTokenCount ?? 0, (u.CandidatesTokenCount ?? 0) + (u.ThoughtsTokenCount ?? 0), u.CachedContentTokenCount ?? 0, u.ThoughtsTokenCount ?? 0);
}
