using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Core.Tests.FakeUpstream;

/// <summary>A plain-HttpClient caller of the fake, reading SSE the way an OpenAI SDK does.</summary>
internal static class Sse
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static HttpClient Client(FakeOpenAiServer server, string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl + "/"), Timeout = Patience };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey ?? server.ApiKey);
        return client;
    }

    public static string ChatBody(string model = "gpt-4o-mini", bool stream = false, bool includeUsage = false, string prompt = "Say hello") =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = model,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
            ["stream"] = stream,
            ["stream_options"] = includeUsage ? new Dictionary<string, bool> { ["include_usage"] = true } : null,
        });

    public static HttpRequestMessage Post(string path, string json) =>
        new(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    /// <summary>Sends a streaming request and returns the response with headers read and the body still open.</summary>
    public static Task<HttpResponseMessage> StartStreamAsync(HttpClient client, string json, CancellationToken ct = default) =>
        client.SendAsync(Post("chat/completions", json), HttpCompletionOption.ResponseHeadersRead, ct);

    /// <summary>Reads <c>data:</c> payloads into <paramref name="events"/> until the body ends; throws if the connection breaks.</summary>
    public static async Task ReadAllAsync(HttpResponseMessage response, List<string> events, CancellationToken ct = default)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) events.Add(line["data: ".Length..]);
        }
    }

    public static async Task<List<string>> ReadAllAsync(HttpResponseMessage response)
    {
        var events = new List<string>();
        using var cts = new CancellationTokenSource(Patience);
        await ReadAllAsync(response, events, cts.Token);
        return events;
    }

    public static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public static IEnumerable<JsonElement> Chunks(IEnumerable<string> events) =>
        events.Where(e => e != "[DONE]").Select(Parse);

    /// <summary>The content text of the chunks' first choice, joined.</summary>
    public static string Content(IEnumerable<JsonElement> chunks) => string.Concat(chunks
        .Where(c => c.GetProperty("choices").GetArrayLength() > 0)
        .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
        .Select(d => d.TryGetProperty("content", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : ""));

    public static JsonElement Error(string body)
    {
        var error = Parse(body).GetProperty("error");
        // OpenAI's error object always carries all four fields, nullable or not.
        foreach (var field in new[] { "message", "type", "param", "code" })
        {
            Assert.True(error.TryGetProperty(field, out _), $"error.{field} missing in {body}");
        }
        return error;
    }
}
