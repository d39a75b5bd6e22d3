using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sanjia.Evaluation.Running;

/// <summary>
/// Calls the gateway's own OpenAI endpoint. Chat is streamed (with <c>stream_options.include_usage</c>) so the time
/// to the first content token is measured; usage comes from the final chunk, cost from <c>x-sanjia-cost</c> and
/// <c>x-sanjia-cost-currency</c> in the response headers or trailers (absent means unpriced).
/// </summary>
public sealed class GatewayModelRunner : IModelRunner
{
    public const string CostHeader = "x-sanjia-cost";
    public const string CurrencyHeader = "x-sanjia-cost-currency";

    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly bool _stream;

    /// <param name="http">A client whose BaseAddress is the gateway root (e.g. http://127.0.0.1:4000/).</param>
    /// <param name="apiKey">The key the calls are charged to; its budget applies.</param>
    /// <param name="stream">False sends non-streaming requests (no time to first token, but the cost header is always in the response headers).</param>
    public GatewayModelRunner(HttpClient http, string apiKey, TimeProvider? time = null, bool stream = true)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        _time = time ?? TimeProvider.System;
        _stream = stream;
    }

    public async Task<ModelCall> ChatAsync(ModelRequest request, CancellationToken cancellationToken)
    {
        var body = request.Fields is null ? new JsonObject() : (JsonObject)request.Fields.DeepClone();
        body["model"] = request.Model;
        body["messages"] = new JsonArray([.. request.Messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
        if (_stream)
        {
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }
        using var message = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        var start = _time.GetTimestamp();
        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var error = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                return new ModelCall
                {
                    Model = request.Model,
                    LatencyMs = _time.GetElapsedTime(start).TotalMilliseconds,
                    ErrorStatus = (int)response.StatusCode,
                    Error = ErrorMessage(error) ?? $"HTTP {(int)response.StatusCode}",
                };
            }
            var call = _stream
                ? await ReadStreamAsync(request.Model, response, start, cancellationToken).ConfigureAwait(false)
                : await ReadCompleteAsync(request.Model, response, start, cancellationToken).ConfigureAwait(false);
            var (cost, currency) = Cost(response);
            return call with
            {
                Cost = cost,
                Currency = currency,
                Deployment = response.Headers.TryGetValues("x-sanjia-deployment", out var d) ? d.FirstOrDefault() : null,
            };
        }
        catch (HttpRequestException e)
        {
            return Transport(request.Model, start, e.Message);
        }
        catch (IOException e)
        {
            return Transport(request.Model, start, e.Message);
        }
        catch (JsonException e)
        {
            return Transport(request.Model, start, "unreadable response: " + e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Transport(request.Model, start, "timed out");
        }
    }

    public async Task<(IReadOnlyList<float[]>? Vectors, string? Error)> EmbedAsync(string model, IReadOnlyList<string> inputs, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["model"] = model, ["input"] = new JsonArray([.. inputs.Select(i => (JsonNode)i)]) };
        try
        {
            using var response = await _http.PostAsync("v1/embeddings", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) return (null, $"embeddings with '{model}' failed: {ErrorMessage(text) ?? $"HTTP {(int)response.StatusCode}"}");
            using var doc = JsonDocument.Parse(text);
            var vectors = new float[inputs.Count][];
            foreach (var item in doc.RootElement.GetProperty("data").EnumerateArray())
            {
                var index = item.GetProperty("index").GetInt32();
                vectors[index] = [.. item.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle())];
            }
            return vectors.Any(v => v is null) ? (null, "embeddings response is missing vectors") : (vectors, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (null, $"embeddings with '{model}' failed: {e.Message}");
        }
    }

    private async Task<ModelCall> ReadStreamAsync(string model, HttpResponseMessage response, long start, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        double? ttft = null;
        int input = 0, output = 0;
        string? error = null;
        using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
            var data = line.AsSpan(5).Trim();
            if (data.SequenceEqual("[DONE]")) break;
            using var doc = JsonDocument.Parse(data.ToString());
            var root = doc.RootElement;
            if (root.TryGetProperty("error", out var err))
            {
                error = err.TryGetProperty("message", out var m) ? m.GetString() : err.ToString();
                break;
            }
            if (root.TryGetProperty("choices", out var choices))
            {
                foreach (var choice in choices.EnumerateArray())
                {
                    if (choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                    {
                        var piece = c.GetString();
                        if (!string.IsNullOrEmpty(piece))
                        {
                            ttft ??= _time.GetElapsedTime(start).TotalMilliseconds;
                            text.Append(piece);
                        }
                    }
                }
            }
            (input, output) = Usage(root, input, output);
        }
        return new ModelCall
        {
            Model = model,
            Text = text.ToString(),
            InputTokens = input,
            OutputTokens = output,
            LatencyMs = _time.GetElapsedTime(start).TotalMilliseconds,
            TimeToFirstTokenMs = ttft,
            ErrorStatus = error is null ? null : 502,
            Error = error,
        };
    }

    private async Task<ModelCall> ReadCompleteAsync(string model, HttpResponseMessage response, long start, CancellationToken cancellationToken)
    {
        var json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var content = root.GetProperty("choices")[0].GetProperty("message").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
        var (input, output) = Usage(root, 0, 0);
        return new ModelCall { Model = model, Text = content, InputTokens = input, OutputTokens = output, LatencyMs = _time.GetElapsedTime(start).TotalMilliseconds };
    }

    private static (int Input, int Output) Usage(JsonElement root, int input, int output)
    {
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            if (usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt32(out var pi)) input = pi;
            if (usage.TryGetProperty("completion_tokens", out var o) && o.TryGetInt32(out var oi)) output = oi;
        }
        return (input, output);
    }

    private static (decimal? Cost, string? Currency) Cost(HttpResponseMessage response)
    {
        static string? Find(HttpResponseMessage r, string name) =>
            r.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault()
            : r.TrailingHeaders.TryGetValues(name, out var t) ? t.FirstOrDefault() : null;

        var raw = Find(response, CostHeader);
        if (raw is null || !decimal.TryParse(raw, NumberStyles.Number, CultureInfo.InvariantCulture, out var cost)) return (null, null);
        return (cost, Find(response, CurrencyHeader));
    }

    private static string? ErrorMessage(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("error", out var e) && e.TryGetProperty("message", out var m) ? m.GetString() : null;
        }
        catch (JsonException)
        {
            return string.IsNullOrWhiteSpace(body) ? null : body.Length > 300 ? body[..300] : body;
        }
    }

    private ModelCall Transport(string model, long start, string message) => new()
    {
        Model = model,
        LatencyMs = _time.GetElapsedTime(start).TotalMilliseconds,
        ErrorStatus = 0,
        Error = message,
    };
}
