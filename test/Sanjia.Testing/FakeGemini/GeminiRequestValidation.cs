using System.Text.Json;

namespace Sanjia.Testing.FakeGemini;

/// <summary>
/// Request checks from Gemini's documentation: known fields only, roles <c>user</c>/<c>model</c> alternating and starting
/// with <c>user</c>, every part with exactly one kind of data, function responses answering the previous model turn's
/// function calls one for one, thought signatures returned on the function calls that carried them, valid
/// <c>functionCallingConfig</c>, JSON schema output only with <c>responseMimeType: application/json</c>.
/// </summary>
internal static class GeminiRequestValidation
{
    /// <summary>The harm categories and thresholds the Gemini API documents for <c>safetySettings</c>.</summary>
    private static readonly HashSet<string> HarmCategories = ["HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY"];
    private static readonly HashSet<string> Thresholds = ["HARM_BLOCK_THRESHOLD_UNSPECIFIED", "BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"];
    private static readonly string[] PartKinds = ["text", "inlineData", "fileData", "functionCall", "functionResponse"];

    public static string? Validate(string body, HashSet<string> topLevel, HashSet<string> generationConfig, Func<string, string, string?> issuedSignature, bool requireSignatures = false)
    {
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(body).RootElement;
        }
        catch (JsonException ex)
        {
            return "Invalid JSON payload received. " + ex.Message;
        }
        foreach (var p in root.EnumerateObject())
        {
            if (!topLevel.Contains(p.Name)) return $"Invalid JSON payload received. Unknown name \"{p.Name}\": Cannot find field.";
        }
        if (root.TryGetProperty("generationConfig", out var gc))
        {
            foreach (var p in gc.EnumerateObject())
            {
                if (!generationConfig.Contains(p.Name)) return $"Invalid JSON payload received. Unknown name \"{p.Name}\" at 'generation_config': Cannot find field.";
            }
            if ((gc.TryGetProperty("responseJsonSchema", out _) || gc.TryGetProperty("responseSchema", out _))
                && !(gc.TryGetProperty("responseMimeType", out var mt) && mt.GetString() == "application/json"))
            {
                return "* GenerateContentRequest.generation_config.response_mime_type: must be application/json when a response schema is set.";
            }
            if (gc.TryGetProperty("thinkingConfig", out var thinking))
            {
                // ThinkingConfig: includeThoughts (bool), thinkingBudget (int; -1 = dynamic, 0 = off, up to 32768 on
                // 2.5 Pro), thinkingLevel (Gemini 3; not together with a budget).
                foreach (var p in thinking.EnumerateObject())
                {
                    if (p.Name is not ("includeThoughts" or "thinkingBudget" or "thinkingLevel")) return $"Invalid JSON payload received. Unknown name \"{p.Name}\" at 'generation_config.thinking_config': Cannot find field.";
                }
                if (thinking.TryGetProperty("thinkingBudget", out var tb) && (tb.ValueKind != JsonValueKind.Number || !tb.TryGetInt32(out var budget) || budget < -1 || budget > 32768))
                {
                    return "* GenerateContentRequest.generation_config.thinking_config.thinking_budget: must be -1 or between 0 and 32768.";
                }
                if (thinking.TryGetProperty("thinkingBudget", out _) && thinking.TryGetProperty("thinkingLevel", out _)) return "thinking_budget and thinking_level are not supported together.";
            }
        }
        if (root.TryGetProperty("safetySettings", out var safety))
        {
            if (safety.ValueKind != JsonValueKind.Array) return "Invalid JSON payload received. Unknown name \"safetySettings\": Proto field is not repeating, cannot start list.";
            var n = 0;
            foreach (var setting in safety.EnumerateArray())
            {
                var category = setting.TryGetProperty("category", out var c) ? c.GetString() : null;
                var threshold = setting.TryGetProperty("threshold", out var t) ? t.GetString() : null;
                if (category is null || !HarmCategories.Contains(category)) return $"Invalid value at 'safety_settings[{n}].category' (type.googleapis.com/google.ai.generativelanguage.v1beta.HarmCategory), \"{category}\"";
                if (threshold is null || !Thresholds.Contains(threshold)) return $"Invalid value at 'safety_settings[{n}].threshold' (type.googleapis.com/google.ai.generativelanguage.v1beta.SafetySetting.HarmBlockThreshold), \"{threshold}\"";
                n++;
            }
        }
        if (!root.TryGetProperty("contents", out var contents) || contents.ValueKind != JsonValueKind.Array || contents.GetArrayLength() == 0)
        {
            return "* GenerateContentRequest.contents: contents is not specified";
        }
        // The current turn starts after the last user content that is not only function responses (documented for
        // Gemini 3: only its function calls are checked, and the first call of each step must carry a signature).
        var turnStart = 0;
        var k = 0;
        foreach (var content in contents.EnumerateArray())
        {
            if (content.TryGetProperty("role", out var cr) && cr.ValueEquals("user") && content.TryGetProperty("parts", out var cp) && cp.ValueKind == JsonValueKind.Array
                && cp.EnumerateArray().Any(p => !p.TryGetProperty("functionResponse", out _)))
            {
                turnStart = k;
            }
            k++;
        }
        string? previousRole = null;
        List<(string Name, string Args, string? Signature)> pendingCalls = [];
        var i = 0;
        foreach (var content in contents.EnumerateArray())
        {
            var role = content.TryGetProperty("role", out var r) ? r.GetString() : null;
            if (role is not ("user" or "model")) return $"* GenerateContentRequest.contents[{i}].role: Please use a valid role: user, model.";
            if (previousRole is null && role != "user") return "Please ensure that multiturn requests alternate between user and model, starting with user.";
            if (role == previousRole) return $"Please ensure that multiturn requests alternate between user and model (contents[{i}] repeats '{role}').";
            if (!content.TryGetProperty("parts", out var parts) || parts.ValueKind != JsonValueKind.Array || parts.GetArrayLength() == 0)
            {
                return $"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.";
            }
            var calls = new List<(string, string, string?)>();
            var responses = new List<string>();
            var j = 0;
            foreach (var part in parts.EnumerateArray())
            {
                var kinds = PartKinds.Where(k => part.TryGetProperty(k, out _)).ToList();
                if (kinds.Count != 1) return $"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field 'data' must have one initialized field";
                switch (kinds[0])
                {
                    case "functionCall" when role != "model":
                        return $"contents[{i}].parts[{j}]: function calls can only come from the model.";
                    case "functionCall":
                        var fc = part.GetProperty("functionCall");
                        calls.Add((fc.GetProperty("name").GetString()!, fc.TryGetProperty("args", out var a) ? a.GetRawText() : "{}",
                            part.TryGetProperty("thoughtSignature", out var sig) ? sig.GetString() : null));
                        break;
                    case "functionResponse" when role != "user":
                        return $"contents[{i}].parts[{j}]: function responses must be in a user turn.";
                    case "functionResponse":
                        var fr = part.GetProperty("functionResponse");
                        if (!fr.TryGetProperty("name", out var frName) || !fr.TryGetProperty("response", out var resp) || resp.ValueKind != JsonValueKind.Object)
                        {
                            return $"* contents[{i}].parts[{j}].function_response: name and an object response are required.";
                        }
                        responses.Add(frName.GetString()!);
                        break;
                    case "inlineData":
                        var inline = part.GetProperty("inlineData");
                        if (!inline.TryGetProperty("mimeType", out _) || !inline.TryGetProperty("data", out var d)) return $"contents[{i}].parts[{j}].inline_data: mime_type and data are required.";
                        try { Convert.FromBase64String(d.GetString()!); } catch (FormatException) { return $"contents[{i}].parts[{j}].inline_data.data: Base64 decoding failed."; }
                        break;
                    case "fileData":
                        if (!part.GetProperty("fileData").TryGetProperty("fileUri", out _)) return $"contents[{i}].parts[{j}].file_data.file_uri is required.";
                        break;
                }
                j++;
            }
            if (pendingCalls.Count > 0)
            {
                // The turn after function calls must answer each of them.
                var expected = pendingCalls.Select(c => c.Name).Order().ToList();
                if (!expected.SequenceEqual(responses.Order()))
                {
                    return $"Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn (contents[{i}]).";
                }
            }
            else if (responses.Count > 0)
            {
                return $"Please ensure that function response turn comes immediately after a function call turn (contents[{i}]).";
            }
            foreach (var (name, args, signature) in calls)
            {
                var issued = issuedSignature(name, System.Text.Json.Nodes.JsonNode.Parse(args)!.ToJsonString());
                if (issued is not null && signature != issued)
                {
                    return $"Function call is missing a thought_signature in functionCall parts (contents[{i}], '{name}'). Thought signatures must be returned unchanged.";
                }
            }
            if (requireSignatures && i > turnStart && calls.Count > 0 && string.IsNullOrEmpty(calls[0].Item3))
            {
                return $"Function call `{calls[0].Item1}` in the `{i}.` content block is missing a `thought_signature`. Learn more: https://ai.google.dev/gemini-api/docs/thought-signatures";
            }
            pendingCalls = calls;
            previousRole = role;
            i++;
        }
        if (root.TryGetProperty("toolConfig", out var tc) && tc.TryGetProperty("functionCallingConfig", out var fcc))
        {
            var mode = fcc.TryGetProperty("mode", out var m) ? m.GetString() : null;
            if (mode is not ("AUTO" or "ANY" or "NONE" or "VALIDATED")) return $"Invalid value at 'tool_config.function_calling_config.mode' ({mode}).";
            if (fcc.TryGetProperty("allowedFunctionNames", out _) && mode != "ANY") return "allowed_function_names can only be set when mode is ANY.";
            if (!root.TryGetProperty("tools", out _)) return "tool_config is set but no tools are declared.";
        }
        return null;
    }
}
