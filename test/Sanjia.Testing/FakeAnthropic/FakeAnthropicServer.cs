using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sanjia.Testing.FakeAnthropic;

/// <summary>How the fake answers one valid request.</summary>
public sealed record FakeAnthropicReply
{
    public string Text { get; init; } = "Hello from the fake Anthropic";
    /// <summary>Emit a thinking block (with a signature the fake will later verify) before the text.</summary>
    public string? Thinking { get; init; }
    /// <summary>Call this tool (name, input JSON) after the text; the input streams in <see cref="ToolPieces"/> pieces.</summary>
    public (string Name, string InputJson)? ToolUse { get; init; }
    public int ToolPieces { get; init; } = 4;
    public int InputTokens { get; init; } = 10;
    public int OutputTokens { get; init; } = 5;
    public int CacheReadTokens { get; init; }
    /// <summary>Reported as <c>cache_creation_input_tokens</c>: prompt tokens written to the cache.</summary>
    public int CacheWriteTokens { get; init; }
    public int? Status { get; init; }
    public string ErrorType { get; init; } = "api_error";
    /// <summary>With <see cref="Status"/>: the error's message, e.g. "prompt is too long: 210000 tokens &gt; 200000 maximum".</summary>
    public string ErrorMessage { get; init; } = "scripted failure";
    /// <summary>Cut the stream with an <c>error</c> event (overloaded) after the first text delta.</summary>
    public bool ErrorMidStream { get; init; }
    /// <summary>Go silent this long after the first text delta (a vendor that stops sending mid-answer), then carry on.</summary>
    public TimeSpan? StallAfterFirstDelta { get; init; }
}

public sealed record FakeAnthropicRequest(string Path, IReadOnlyDictionary<string, string> Headers, string Body, int Status, string? Error);

/// <summary>
/// A fake of Anthropic's Messages API written from its documentation: <c>POST /v1/messages</c> (JSON and SSE) with
/// the API's request validation (headers, required fields, role alternation, tool_use/tool_result pairing, thinking
/// signatures, thinking constraints) and its error shape. See README.md.
/// </summary>
public sealed class FakeAnthropicServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Queue<FakeAnthropicReply> _queue = new();
    private readonly List<FakeAnthropicRequest> _requests = [];
    // Signature → the thinking text it signs: Anthropic rejects a thinking block whose text was changed.
    private readonly Dictionary<string, string> _issuedSignatures = [];

    private FakeAnthropicServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";
    public string ApiKey { get; } = "sk-ant-fake-" + Guid.NewGuid().ToString("N");

    public IReadOnlyList<FakeAnthropicRequest> Requests { get { lock (_gate) return [.. _requests]; } }

    public void Enqueue(params FakeAnthropicReply[] replies)
    {
        lock (_gate) foreach (var r in replies) _queue.Enqueue(r);
    }

    public static async Task<FakeAnthropicServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeAnthropicServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/');
        return server;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync().ConfigureAwait(false);
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var (status, type, error) = Validate(http, headers, body);
        lock (_gate) _requests.Add(new FakeAnthropicRequest(http.Request.Path, headers, body, status, error));
        if (error is not null)
        {
            await WriteErrorAsync(http, status, type!, error).ConfigureAwait(false);
            return;
        }
        FakeAnthropicReply reply;
        lock (_gate) reply = _queue.Count > 0 ? _queue.Dequeue() : new FakeAnthropicReply();
        if (reply.Status is { } s)
        {
            await WriteErrorAsync(http, s, reply.ErrorType, reply.ErrorMessage).ConfigureAwait(false);
            return;
        }
        using var doc = JsonDocument.Parse(body);
        var model = doc.RootElement.GetProperty("model").GetString()!;
        var stream = doc.RootElement.TryGetProperty("stream", out var st) && st.ValueKind == JsonValueKind.True;
        var signature = reply.Thinking is null ? null : "sig_" + Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        if (signature is not null) lock (_gate) _issuedSignatures.Add(signature, reply.Thinking!);
        if (stream) await StreamAsync(http, reply, model, signature).ConfigureAwait(false);
        else await JsonAsync(http, reply, model, signature).ConfigureAwait(false);
    }

    private (int Status, string? Type, string? Error) Validate(HttpContext http, Dictionary<string, string> headers, string body)
    {
        if (http.Request.Method != "POST" || http.Request.Path != "/v1/messages") return (404, "not_found_error", $"Not found: {http.Request.Path}");
        if (!headers.TryGetValue("x-api-key", out var key) || key != ApiKey) return (401, "authentication_error", "invalid x-api-key");
        if (!headers.ContainsKey("anthropic-version")) return (400, "invalid_request_error", "anthropic-version: header is required");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body); }
        catch (JsonException) { return (400, "invalid_request_error", "The request body is not valid JSON."); }
        using (doc)
        {
            var error = MessagesValidation.Validate(doc.RootElement, IsIssued);
            return error is null ? (200, null, null) : (400, "invalid_request_error", error);
        }
    }

    private bool IsIssued(string signature, string thinking)
    {
        lock (_gate) return _issuedSignatures.TryGetValue(signature, out var signed) && signed == thinking;
    }

    private static Task WriteErrorAsync(HttpContext http, int status, string type, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { type = "error", error = new { type, message } }));
    }

    private static async Task JsonAsync(HttpContext http, FakeAnthropicReply reply, string model, string? signature)
    {
        var content = new List<object>();
        if (reply.Thinking is not null) content.Add(new { type = "thinking", thinking = reply.Thinking, signature });
        if (reply.Text.Length > 0) content.Add(new { type = "text", text = reply.Text });
        if (reply.ToolUse is { } tool) content.Add(new { type = "tool_use", id = ToolId(), name = tool.Name, input = JsonDocument.Parse(tool.InputJson).RootElement });
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            id = "msg_fake" + Guid.NewGuid().ToString("N")[..16],
            type = "message",
            role = "assistant",
            model,
            content,
            stop_reason = reply.ToolUse is null ? "end_turn" : "tool_use",
            stop_sequence = (string?)null,
            usage = Usage(reply, reply.OutputTokens),
        })).ConfigureAwait(false);
    }

    private static async Task StreamAsync(HttpContext http, FakeAnthropicReply reply, string model, string? signature)
    {
        http.Response.ContentType = "text/event-stream";
        async Task Send(string name, object data)
        {
            await http.Response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(data)}\n\n").ConfigureAwait(false);
            await http.Response.Body.FlushAsync().ConfigureAwait(false);
        }
        await Send("message_start", new
        {
            type = "message_start",
            message = new { id = "msg_fake" + Guid.NewGuid().ToString("N")[..16], type = "message", role = "assistant", model, content = Array.Empty<object>(), stop_reason = (string?)null, stop_sequence = (string?)null, usage = Usage(reply, 1) },
        }).ConfigureAwait(false);
        var index = 0;
        if (reply.Thinking is not null)
        {
            await Send("content_block_start", new { type = "content_block_start", index, content_block = new { type = "thinking", thinking = "", signature = "" } }).ConfigureAwait(false);
            // The text comes in several deltas, the signature alone at the end, as Anthropic streams it.
            var words = reply.Thinking.Split(' ');
            for (var i = 0; i < words.Length; i++)
            {
                await Send("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "thinking_delta", thinking = (i > 0 ? " " : "") + words[i] } }).ConfigureAwait(false);
            }
            await Send("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "signature_delta", signature } }).ConfigureAwait(false);
            await Send("content_block_stop", new { type = "content_block_stop", index }).ConfigureAwait(false);
            index++;
        }
        await Send("ping", new { type = "ping" }).ConfigureAwait(false);
        if (reply.Text.Length > 0)
        {
            await Send("content_block_start", new { type = "content_block_start", index, content_block = new { type = "text", text = "" } }).ConfigureAwait(false);
            var words = reply.Text.Split(' ');
            for (var i = 0; i < words.Length; i++)
            {
                await Send("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "text_delta", text = (i > 0 ? " " : "") + words[i] } }).ConfigureAwait(false);
                if (reply.ErrorMidStream)
                {
                    await Send("error", new { type = "error", error = new { type = "overloaded_error", message = "Overloaded" } }).ConfigureAwait(false);
                    return;
                }
                if (i == 0 && reply.StallAfterFirstDelta is { } stall)
                {
                    try
                    {
                        await Task.Delay(stall, http.RequestAborted).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return; // the gateway gave up on the stream
                    }
                }
            }
            await Send("content_block_stop", new { type = "content_block_stop", index }).ConfigureAwait(false);
            index++;
        }
        if (reply.ToolUse is { } tool)
        {
            await Send("content_block_start", new { type = "content_block_start", index, content_block = new { type = "tool_use", id = ToolId(), name = tool.Name, input = new { } } }).ConfigureAwait(false);
            var size = Math.Max(1, (int)Math.Ceiling(tool.InputJson.Length / (double)reply.ToolPieces));
            for (var at = 0; at < tool.InputJson.Length; at += size)
            {
                var piece = tool.InputJson.Substring(at, Math.Min(size, tool.InputJson.Length - at));
                await Send("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "input_json_delta", partial_json = piece } }).ConfigureAwait(false);
            }
            await Send("content_block_stop", new { type = "content_block_stop", index }).ConfigureAwait(false);
        }
        await Send("message_delta", new { type = "message_delta", delta = new { stop_reason = reply.ToolUse is null ? "end_turn" : "tool_use", stop_sequence = (string?)null }, usage = new { output_tokens = reply.OutputTokens } }).ConfigureAwait(false);
        await Send("message_stop", new { type = "message_stop" }).ConfigureAwait(false);
    }

    private static object Usage(FakeAnthropicReply r, int output) => new
    {
        input_tokens = r.InputTokens,
        cache_creation_input_tokens = r.CacheWriteTokens,
        cache_read_input_tokens = r.CacheReadTokens,
        output_tokens = output,
    };

    private static string ToolId() => "toolu_" + Guid.NewGuid().ToString("N")[..24];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
