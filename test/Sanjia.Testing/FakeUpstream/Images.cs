using System.Text.Json;

namespace Sanjia.Testing.FakeUpstream;

internal sealed record ImageRequestInfo(string Model, string Prompt, int N, string? Size, string? Quality, string ResponseFormat, bool GptImage);

/// <summary>
/// <c>POST /v1/images/generations</c> as OpenAI documents it (CreateImageRequest in, ImagesResponse out): DALL·E
/// models answer with URLs unless <c>response_format</c> is <c>b64_json</c>; GPT image models always answer in
/// base64 with <c>usage</c>, and refuse <c>response_format</c>. dall-e-3 makes one image per request.
/// </summary>
internal static class Images
{
    /// <summary>A 1×1 PNG: a real image, small enough for tests.</summary>
    public const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    /// <summary>Output tokens per image of the GPT image models (low/medium/high at 1024x1024), as OpenAI's guide lists them.</summary>
    public static int OutputTokens(string? quality) => quality switch { "low" => 272, "high" => 4160, _ => 1056 };

    public static (ImageRequestInfo? Request, InvalidRequest? Error) Parse(ReadOnlyMemory<byte> body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return (null, new InvalidRequest("We could not parse the JSON body of your request.", null, null));
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, new InvalidRequest("The request body must be a JSON object.", null, "invalid_type"));
            if (!root.TryGetProperty("prompt", out var prompt)) return (null, ChatCompletions.Missing("prompt"));
            if (prompt.ValueKind != JsonValueKind.String) return (null, ChatCompletions.WrongType("prompt", "a string", prompt));
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "dall-e-2";
            var gptImage = model.StartsWith("gpt-image", StringComparison.Ordinal);
            var n = 1;
            if (root.TryGetProperty("n", out var count) && count.ValueKind != JsonValueKind.Null && (!count.TryGetInt32(out n) || n < 1 || n > 10))
                return (null, new InvalidRequest("Invalid 'n': expected an integer from 1 to 10.", "n", "invalid_value"));
            if (model == "dall-e-3" && n != 1)
                return (null, new InvalidRequest("You must provide n=1 for this model.", "n", "invalid_value"));
            string? format = null;
            if (root.TryGetProperty("response_format", out var f) && f.ValueKind != JsonValueKind.Null)
            {
                if (gptImage) return (null, new InvalidRequest("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter"));
                format = f.GetString();
            }
            return (new ImageRequestInfo(model, prompt.GetString()!, n, Str(root, "size"), Str(root, "quality"), format ?? (gptImage ? "b64_json" : "url"), gptImage), null);
        }
    }

    private static string? Str(JsonElement root, string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static async Task RespondAsync(Exchange x, ImageRequestInfo request, FakeBehavior behavior)
    {
        var body = OpenAiWire.Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("created", 1_700_000_000);
            w.WriteStartArray("data");
            for (var i = 0; i < request.N; i++)
            {
                w.WriteStartObject();
                if (request.ResponseFormat == "b64_json") w.WriteString("b64_json", Png);
                else w.WriteString("url", $"https://images.fake.example/{Guid.NewGuid():N}.png");
                if (request.Model == "dall-e-3") w.WriteString("revised_prompt", request.Prompt);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (request.GptImage)
            {
                var input = behavior.PromptTokens ?? OpenAiWire.CountWords(request.Prompt) + 2;
                var output = behavior.CompletionTokens ?? request.N * OutputTokens(request.Quality);
                w.WriteString("output_format", "png");
                w.WriteStartObject("usage");
                w.WriteNumber("total_tokens", input + output);
                w.WriteNumber("input_tokens", input);
                w.WriteNumber("output_tokens", output);
                w.WriteStartObject("input_tokens_details");
                w.WriteNumber("text_tokens", input);
                w.WriteNumber("image_tokens", 0);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        });
        await x.WriteCompleteAsync(body, behavior).ConfigureAwait(false);
    }
}
