using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sanjia.Evaluation.Running;

/// <summary>
/// Calls the gateway's own OpenAI endpoint. Chat is streamed (with <c>stream_options.include_usage</c>) so the time
/// to the first content token is measured; usage and cost come from the final chunk's <c>usage</c> (the gateway's
/// <c>cost</c> and <c>cost_currency</c> extension fields; <c>cost: null</c> means unpriced). Complete answers carry the
/// same fields in <c>usage</c>; without them the <c>x-sanjia-cost</c> and <c>x-sanjia-cost-currency</c> response
/// headers or trailers are read (absent means unpriced).
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
    /// <param name="headers">Sent with every call, e.g. the gateway's own evaluation marker for its admin comparisons.</param>
    public GatewayModelRunner(HttpClient http, string apiKey, TimeProvider? time = null, bool stream = true, IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            _http.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
        }
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
                    ErrorCode = ErrorCode(error),
                    Error = ErrorMessage(error) ?? $"HTTP {(int)response.StatusCode}",
                    Attempts = Attempts(response),
                };
            }
            var call = _stream
                ? await ReadStreamAsync(request.Model, response, start, cancellationToken).ConfigureAwait(false)
                : await ReadCompleteAsync(request.Model, response, start, cancellationToken).ConfigureAwait(false);
            // The usage fields win; the headers (or trailers) are for gateways that price only there.
            var (cost, currency) = call.CostReported ? (call.Cost, call.Currency) : Cost(response);
            return call with
            {
                Cost = cost,
                Currency = currency,
                Deployment = response.Headers.TryGetValues("x-sanjia-deployment", out var d) ? d.FirstOrDefault() : null,
                Attempts = Attempts(response),
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

    /// <summary>
    /// Asks the gateway whether it serves <paramref name="model"/> (<c>GET /v1/models/{id}</c>, which checks the
    /// vendor's own model list) and at what list price. Found is false with the gateway's message when the model does
    /// not exist, null with the reason when the gateway could not be asked; Price is null when the model is unpriced.
    /// </summary>
    public async Task<(bool? Found, ListPrice? Price, string? Error)> DescribeModelAsync(string model, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync("v1/models/" + string.Join('/', model.Split('/').Select(Uri.EscapeDataString)), cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return (false, null, ErrorMessage(text) ?? $"model '{model}' not found");
            if (!response.IsSuccessStatusCode) return (null, null, $"could not check model '{model}': {ErrorMessage(text) ?? $"HTTP {(int)response.StatusCode}"}");
            using var doc = JsonDocument.Parse(text);
            ListPrice? price = null;
            if (doc.RootElement.TryGetProperty("pricing", out var p) && p.ValueKind == JsonValueKind.Object
                && p.TryGetProperty("currency", out var cur) && p.TryGetProperty("prompt", out var i) && p.TryGetProperty("completion", out var o))
            {
                // OpenRouter's shape, as /v1/models writes it: the price of one token as a decimal string.
                price = new ListPrice(cur.GetString() ?? "", PerMillion(i), PerMillion(o));
            }
            return (true, price, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or InvalidOperationException or FormatException)
        {
            return (null, null, $"could not check model '{model}': {e.Message}");
        }
    }

    private static decimal PerMillion(JsonElement perToken) =>
        decimal.Parse(perToken.GetString() ?? "", System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture) * 1_000_000m;

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
        var cost = new UsageCost();
        string? error = null, code = null;
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
                code = ErrorCode(err);
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
            (input, output) = Usage(root, input, output, ref cost);
        }
        return new ModelCall
        {
            Model = model,
            Text = text.ToString(),
            InputTokens = input,
            OutputTokens = output,
            LatencyMs = _time.GetElapsedTime(start).TotalMilliseconds,
            TimeToFirstTokenMs = ttft,
            Cost = cost.Amount,
            Currency = cost.Currency,
            CostReported = cost.Reported,
            ErrorStatus = error is null ? null : 502,
            ErrorCode = code,
            Error = error,
        };
    }

    private async Task<ModelCall> ReadCompleteAsync(string model, HttpResponseMessage response, long start, CancellationToken cancellationToken)
    {
        var json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var content = root.GetProperty("choices")[0].GetProperty("message").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
        var cost = new UsageCost();
        var (input, output) = Usage(root, 0, 0, ref cost);
        return new ModelCall
        {
            Model = model,
            Text = content,
            InputTokens = input,
            OutputTokens = output,
            LatencyMs = _time.GetElapsedTime(start).TotalMilliseconds,
            Cost = cost.Amount,
            Currency = cost.Currency,
            CostReported = cost.Reported,
        };
    }

    /// <summary>The gateway's cost extension of <c>usage</c>: <c>cost</c> (a number, or null when unpriced) and <c>cost_currency</c>.</summary>
    private struct UsageCost
    {
        public bool Reported;
        public decimal? Amount;
        public string? Currency;
    }

    private static (int Input, int Output) Usage(JsonElement root, int input, int output, ref UsageCost cost)
    {
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            if (usage.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt32(out var pi)) input = pi;
            if (usage.TryGetProperty("completion_tokens", out var o) && o.TryGetInt32(out var oi)) output = oi;
            if (usage.TryGetProperty("cost", out var c))
            {
                cost.Reported = true;
                cost.Amount = c.ValueKind == JsonValueKind.Number && c.TryGetDecimal(out var amount) ? amount : null;
                cost.Currency = cost.Amount is not null && usage.TryGetProperty("cost_currency", out var cur) && cur.ValueKind == JsonValueKind.String ? cur.GetString() : null;
            }
        }
        return (input, output);
    }

    /// <summary>The gateway's <c>x-sanjia-attempts</c> (0 when it refused before any upstream call), else 1.</summary>
    private static int Attempts(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-sanjia-attempts", out var v) && int.TryParse(v.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : 1;

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

    /// <summary>The OpenAI error body's <c>error.code</c> (e.g. <c>budget_exceeded</c>, <c>model_not_found</c>), when there is one.</summary>
    private static string? ErrorCode(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("error", out var e) ? ErrorCode(e) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? ErrorCode(JsonElement error) =>
        error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;

    private ModelCall Transport(string model, long start, string message) => new()
    {
        Model = model,
        LatencyMs = _time.GetElapsedTime(start).TotalMilliseconds,
        ErrorStatus = 0,
        Error = message,
    };
}
