using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sanjia.Testing.FakeAnthropic;

/// <summary>The request checks Anthropic documents for <c>POST /v1/messages</c>, with its error wording where known.</summary>
internal static partial class MessagesValidation
{
    [GeneratedRegex("^[a-zA-Z0-9_-]{1,128}$")]
    private static partial Regex ToolName();

    public static string? Validate(JsonElement root, Func<string, string, bool> isIssuedSignature)
    {
        if (root.ValueKind != JsonValueKind.Object) return "The request body must be a JSON object.";
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String) return "model: Field required";
        if (!root.TryGetProperty("max_tokens", out var max) || max.ValueKind != JsonValueKind.Number) return "max_tokens: Field required";
        if (max.GetInt32() < 1) return "max_tokens: Input should be greater than or equal to 1";
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array) return "messages: Field required";
        if (root.TryGetProperty("temperature", out var t) && (t.GetDouble() < 0 || t.GetDouble() > 1)) return "temperature: Input should be less than or equal to 1";
        foreach (var p in root.EnumerateObject())
        {
            if (p.Name is not ("model" or "max_tokens" or "messages" or "system" or "temperature" or "top_p" or "top_k" or "stop_sequences" or "stream"
                or "tools" or "tool_choice" or "thinking" or "metadata" or "service_tier" or "container" or "mcp_servers" or "output_config"))
            {
                return $"{p.Name}: Extra inputs are not permitted";
            }
        }
        if (root.TryGetProperty("system", out var system) && system.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var b in system.EnumerateArray())
            {
                if (!b.TryGetProperty("type", out var bt) || bt.GetString() != "text") return $"system.{i}.type: Input should be 'text'";
                i++;
            }
        }
        var thinking = root.TryGetProperty("thinking", out var th) && th.TryGetProperty("type", out var tht) && tht.GetString() == "enabled";
        if (thinking)
        {
            if (!th.TryGetProperty("budget_tokens", out var budget) || budget.GetInt32() < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
            if (budget.GetInt32() >= max.GetInt32()) return "`max_tokens` must be greater than `thinking.budget_tokens`.";
            if (root.TryGetProperty("temperature", out var tt) && tt.GetDouble() != 1) return "`temperature` may only be set to 1 when thinking is enabled.";
            if (root.TryGetProperty("top_k", out _)) return "`top_k` is not supported when thinking is enabled.";
            // "When thinking is enabled, you can set top_p to values between 1 and 0.95."
            if (root.TryGetProperty("top_p", out var tp) && tp.GetDouble() < 0.95) return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.";
        }
        if (root.TryGetProperty("tools", out var tools))
        {
            var i = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                if (!tool.TryGetProperty("name", out var n) || !ToolName().IsMatch(n.GetString() ?? "")) return $"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'";
                if (!tool.TryGetProperty("type", out _) && !tool.TryGetProperty("input_schema", out _)) return $"tools.{i}.custom.input_schema: Field required";
                i++;
            }
        }
        if (root.TryGetProperty("tool_choice", out var choice) && thinking && choice.GetProperty("type").GetString() is "any" or "tool")
        {
            return "Thinking may not be enabled when tool_choice forces tool use.";
        }

        string? previousRole = null;
        var pendingToolUses = new HashSet<string>();
        var index = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var at = $"messages.{index}";
            var role = m.TryGetProperty("role", out var r) ? r.GetString() : null;
            if (role is not ("user" or "assistant")) return $"{at}.role: Input should be 'user' or 'assistant'";
            if (index == 0 && role != "user") return "messages: first message must use the \"user\" role";
            if (role == previousRole) return $"messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row";
            if (!m.TryGetProperty("content", out var content)) return $"{at}.content: Field required";
            var blocks = content.ValueKind == JsonValueKind.Array ? content.EnumerateArray().ToList() : [];
            if (content.ValueKind == JsonValueKind.Array && blocks.Count == 0 && index < messages.GetArrayLength() - 1)
            {
                return $"{at}: all messages must have non-empty content except for the optional final assistant message";
            }
            if (role == "user")
            {
                var seenOther = false;
                var answered = new HashSet<string>();
                for (var j = 0; j < blocks.Count; j++)
                {
                    var type = blocks[j].GetProperty("type").GetString();
                    if (type == "tool_result")
                    {
                        if (seenOther) return $"{at}.content.{j}: tool_result blocks must come first in the user message content.";
                        var id = blocks[j].GetProperty("tool_use_id").GetString()!;
                        if (!pendingToolUses.Contains(id))
                        {
                            return $"{at}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.";
                        }
                        answered.Add(id);
                    }
                    else
                    {
                        seenOther = true;
                        if (type is not ("text" or "image" or "document")) return $"{at}.content.{j}.type: '{type}' is not a valid user content block";
                    }
                }
                if (pendingToolUses.Except(answered).FirstOrDefault() is { } missing)
                {
                    return $"{at}: `tool_use` ids were found without `tool_result` blocks immediately after: {missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.";
                }
                pendingToolUses.Clear();
            }
            else
            {
                if (pendingToolUses.Count > 0) return $"messages.{index - 1}: tool_use blocks must be answered by tool_result blocks in the next user message.";
                for (var j = 0; j < blocks.Count; j++)
                {
                    var type = blocks[j].GetProperty("type").GetString();
                    switch (type)
                    {
                        case "tool_use":
                            var id = blocks[j].TryGetProperty("id", out var idv) ? idv.GetString() : null;
                            if (id is null || !ToolName().IsMatch(id)) return $"{at}.content.{j}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'";
                            if (!blocks[j].TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Object) return $"{at}.content.{j}.tool_use.input: Input should be a valid dictionary";
                            pendingToolUses.Add(id);
                            break;
                        case "thinking":
                            var sig = blocks[j].TryGetProperty("signature", out var s) ? s.GetString() : null;
                            if (string.IsNullOrEmpty(sig)) return $"{at}.content.{j}.thinking.signature: Field required";
                            var signedText = blocks[j].TryGetProperty("thinking", out var tx) && tx.ValueKind == JsonValueKind.String ? tx.GetString()! : "";
                            if (!isIssuedSignature(sig, signedText)) return $"{at}.content.{j}: Invalid `signature` in `thinking` block";
                            break;
                        case "redacted_thinking" or "text":
                            break;
                        default:
                            return $"{at}.content.{j}.type: '{type}' is not a valid assistant content block";
                    }
                }
            }
            previousRole = role;
            index++;
        }
        if (index == 0) return "messages: at least one message is required";
        return null;
    }
}
