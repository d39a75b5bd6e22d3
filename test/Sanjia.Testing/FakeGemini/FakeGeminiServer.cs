using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sanjia.Testing.FakeGemini;

/// <summary>How the fake answers one valid request.</summary>
public sealed record FakeGeminiReply
{
    public string Text { get; init; } = "Hello from the fake Gemini";
    /// <summary>Thought summary sent first as a <c>thought: true</c> part.</summary>
    public string? Thought { get; init; }
    /// <summary>Function calls (name, args JSON) after the text; in a stream, one chunk each.</summary>
    public IReadOnlyList<(string Name, string ArgsJson)> FunctionCalls { get; init; } = [];
    /// <summary>The text is streamed in this many chunks.</summary>
    public int TextChunks { get; init; } = 3;
    public string FinishReason { get; init; } = "STOP";
    public int PromptTokens { get; init; } = 10;
    public int OutputTokens { get; init; } = 5;
    public int CachedTokens { get; init; }
    public int ThoughtTokens { get; init; }
    /// <summary>
    /// Sign the text answer, as thinking models do: the last text part carries a <c>thoughtSignature</c> (in a stream,
    /// a final chunk with an empty text part carries it, as Google documents). Issued ones are in <see cref="FakeGeminiServer.TextSignatures"/>.
    /// </summary>
    public bool SignText { get; init; }
    /// <summary>Answer with this HTTP status and Google's error body instead.</summary>
    public int? Status { get; init; }
    public string ErrorStatus { get; init; } = "INTERNAL";
    /// <summary>With <see cref="Status"/>: a <c>google.rpc.RetryInfo</c> detail with this <c>retryDelay</c> (e.g. "7s"), as Google sends on 429.</summary>
    public string? RetryDelay { get; init; }
    /// <summary>With <see cref="Status"/>: the error's message, e.g. Gemini's "The input token count (…) exceeds the maximum number of tokens allowed (…)."</summary>
    public string ErrorMessage { get; init; } = "Scripted failure.";
    /// <summary>Cut the stream (close the connection) after the first text chunk, without a finish reason.</summary>
    public bool DropMidStream { get; init; }
}

public sealed record FakeGeminiRequest(string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body, int Status, string? Error);

/// <summary>
/// A fake of Google's Gemini API written from its documentation: <c>POST /v1beta/models/{model}:generateContent</c>
/// and <c>:streamGenerateContent?alt=sse</c>, with the API's request validation and error shape. See README.md.
/// </summary>
public sealed class FakeGeminiServer : IAsyncDisposable
{
    private static readonly HashSet<string> TopLevel = ["contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent"];
    private static readonly HashSet<string> GenerationConfig = ["temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "candidateCount", "responseMimeType",
        "responseSchema", "responseJsonSchema", "seed", "presencePenalty", "frequencyPenalty", "thinkingConfig", "responseLogprobs", "logprobs"];
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Queue<FakeGeminiReply> _queue = new();
    private readonly List<FakeGeminiRequest> _requests = [];
    private readonly Dictionary<string, string> _issuedSignatures = []; // function name + args → signature

    private FakeGeminiServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";
    public string ApiKey { get; } = "AIza-fake-" + Guid.NewGuid().ToString("N");

    public IReadOnlyList<FakeGeminiRequest> Requests { get { lock (_gate) return [.. _requests]; } }

    /// <summary>The text-part signatures issued so far, in order.</summary>
    public IReadOnlyList<string> TextSignatures { get { lock (_gate) return [.. _textSignatures]; } }

    private readonly List<string> _textSignatures = [];

    public void Enqueue(params FakeGeminiReply[] replies)
    {
        lock (_gate) foreach (var r in replies) _queue.Enqueue(r);
    }

    public static async Task<FakeGeminiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeGeminiServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/');
        return server;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var requestBody = await reader.ReadToEndAsync().ConfigureAwait(false);
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var path = http.Request.Path.Value ?? "";
        var query = http.Request.QueryString.Value ?? "";
        var (status, googleStatus, error, stream) = Validate(http, headers, path, requestBody);
        FakeGeminiReply? reply = null;
        if (error is null)
        {
            lock (_gate) reply = _queue.Count > 0 ? _queue.Dequeue() : new FakeGeminiReply();
            if (reply.Status is { } s)
            {
                (status, googleStatus, error) = (s, reply.ErrorStatus, reply.ErrorMessage);
            }
        }
        lock (_gate) _requests.Add(new FakeGeminiRequest(path, query, headers, requestBody, status, error));
        var retryDelay = reply?.Status is not null ? reply.RetryDelay : null;
        if (error is not null)
        {
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/json";
            var body = new JsonObject { ["code"] = status, ["message"] = error, ["status"] = googleStatus };
            if (error.StartsWith("API key not valid", StringComparison.Ordinal))
            {
                // Google's documented google.rpc.ErrorInfo detail: the reason tells a bad key from a bad request.
                body["details"] = new JsonArray(new JsonObject
                {
                    ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
                    ["reason"] = "API_KEY_INVALID",
                    ["domain"] = "googleapis.com",
                    ["metadata"] = new JsonObject { ["service"] = "generativelanguage.googleapis.com" },
                });
            }
            if (retryDelay is not null)
            {
                // Google's documented quota answer: which quota, where to read more, and when to retry.
                body["details"] = new JsonArray(
                    new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.QuotaFailure", ["violations"] = new JsonArray(new JsonObject { ["quotaMetric"] = "generativelanguage.googleapis.com/generate_content_free_tier_requests", ["quotaId"] = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier" }) },
                    new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.Help", ["links"] = new JsonArray(new JsonObject { ["description"] = "Learn more about Gemini API quotas", ["url"] = "https://ai.google.dev/gemini-api/docs/rate-limits" }) },
                    new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.RetryInfo", ["retryDelay"] = retryDelay });
            }
            await http.Response.WriteAsync(new JsonObject { ["error"] = body }.ToJsonString()).ConfigureAwait(false);
            return;
        }
        if (stream) await StreamAsync(http, reply!).ConfigureAwait(false);
        else
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(Chunk(Parts(reply!, whole: true).SelectMany(p => p).ToList(), reply!, final: true).ToJsonString()).ConfigureAwait(false);
        }
    }

    private (int Status, string GoogleStatus, string? Error, bool Stream) Validate(HttpContext http, Dictionary<string, string> headers, string path, string body)
    {
        const string prefix = "/v1beta/models/";
        var stream = path.EndsWith(":streamGenerateContent", StringComparison.Ordinal);
        if (http.Request.Method != "POST" || !path.StartsWith(prefix, StringComparison.Ordinal) || !(stream || path.EndsWith(":generateContent", StringComparison.Ordinal)))
        {
            return (404, "NOT_FOUND", $"Not found: {http.Request.Method} {path}", false);
        }
        if (!headers.TryGetValue("x-goog-api-key", out var key))
        {
            return (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", stream);
        }
        if (key != ApiKey) return (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", stream);
        if (stream && http.Request.Query["alt"] != "sse") return (400, "INVALID_ARGUMENT", "This fake only streams Server-Sent Events: add alt=sse.", stream);
        // Gemini 3 models enforce thought signatures on function calls of the current turn (documented); 2.5 does not.
        var model = path[prefix.Length..path.LastIndexOf(':')];
        var error = GeminiRequestValidation.Validate(body, TopLevel, GenerationConfig, SignatureIssued, requireSignatures: model.StartsWith("gemini-3", StringComparison.Ordinal));
        return error is null ? (200, "OK", null, stream) : (400, "INVALID_ARGUMENT", error, stream);
    }

    private string? SignatureIssued(string name, string args)
    {
        lock (_gate) return _issuedSignatures.GetValueOrDefault(name + " " + args);
    }

    /// <summary>The reply's parts grouped by stream chunk: thought, text pieces, then one function call per chunk.</summary>
    private List<List<JsonObject>> Parts(FakeGeminiReply reply, bool whole)
    {
        var chunks = new List<List<JsonObject>>();
        if (reply.Thought is not null) chunks.Add([new JsonObject { ["text"] = reply.Thought, ["thought"] = true }]);
        if (reply.Text.Length > 0)
        {
            var pieces = whole ? [reply.Text] : Split(reply.Text, reply.TextChunks);
            chunks.AddRange(pieces.Select(p => new List<JsonObject> { new() { ["text"] = p } }));
            if (reply.SignText)
            {
                var signature = "txt" + Convert.ToBase64String(Guid.NewGuid().ToByteArray());
                lock (_gate) _textSignatures.Add(signature);
                if (whole) chunks[^1][0]["thoughtSignature"] = signature;
                else chunks.Add([new JsonObject { ["text"] = "", ["thoughtSignature"] = signature }]);
            }
        }
        var first = true;
        foreach (var (name, args) in reply.FunctionCalls)
        {
            var compact = JsonNode.Parse(args)!.ToJsonString();
            var part = new JsonObject { ["functionCall"] = new JsonObject { ["name"] = name, ["args"] = JsonNode.Parse(args) } };
            if (first)
            {
                // Documented: the first function call part of a turn carries the thought signature.
                var signature = Convert.ToBase64String(Guid.NewGuid().ToByteArray()) + "+/=";
                lock (_gate) _issuedSignatures[name + " " + compact] = signature;
                part["thoughtSignature"] = signature;
                first = false;
            }
            chunks.Add([part]);
        }
        return chunks;
    }

    private static List<string> Split(string text, int n)
    {
        n = Math.Clamp(n, 1, Math.Max(1, text.Length));
        var size = (int)Math.Ceiling(text.Length / (double)n);
        return [.. Enumerable.Range(0, (text.Length + size - 1) / size).Select(i => text.Substring(i * size, Math.Min(size, text.Length - i * size)))];
    }

    private static JsonObject Chunk(List<JsonObject> parts, FakeGeminiReply reply, bool final)
    {
        var candidate = new JsonObject { ["content"] = new JsonObject { ["role"] = "model", ["parts"] = new JsonArray([.. parts]) }, ["index"] = 0 };
        if (final) candidate["finishReason"] = reply.FinishReason;
        var usage = new JsonObject { ["promptTokenCount"] = reply.PromptTokens, ["candidatesTokenCount"] = reply.OutputTokens, ["totalTokenCount"] = reply.PromptTokens + reply.OutputTokens + reply.ThoughtTokens };
        if (reply.CachedTokens > 0) usage["cachedContentTokenCount"] = reply.CachedTokens;
        if (reply.ThoughtTokens > 0) usage["thoughtsTokenCount"] = reply.ThoughtTokens;
        return new JsonObject { ["candidates"] = new JsonArray(candidate), ["usageMetadata"] = usage, ["modelVersion"] = "gemini-fake-001", ["responseId"] = Guid.NewGuid().ToString("N") };
    }

    private async Task StreamAsync(HttpContext http, FakeGeminiReply reply)
    {
        http.Response.ContentType = "text/event-stream";
        var chunks = Parts(reply, whole: false);
        if (chunks.Count == 0) chunks.Add([]);
        for (var i = 0; i < chunks.Count; i++)
        {
            var final = i == chunks.Count - 1;
            await http.Response.WriteAsync("data: " + Chunk(chunks[i], reply, final).ToJsonString() + "\r\n\r\n").ConfigureAwait(false);
            await http.Response.Body.FlushAsync().ConfigureAwait(false);
            if (reply.DropMidStream && i == 0 && !final)
            {
                // Let the flushed chunk reach the socket before the reset, or the client never sees it.
                await Task.Delay(200).ConfigureAwait(false);
                http.Abort();
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
