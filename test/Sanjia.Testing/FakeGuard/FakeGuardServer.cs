using System.Collections.Concurrent;
using System.Net;
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

namespace Sanjia.Testing.FakeGuard;

/// <summary>The answer format a guard model is trained to produce.</summary>
public enum GuardFormat
{
    /// <summary>Llama Guard 3: <c>safe</c>, or <c>unsafe</c> and the violated categories on the next line (<c>S1,S9</c>).</summary>
    LlamaGuard,
    /// <summary>Qwen3Guard-Gen, prompt moderation: <c>Safety: Safe|Unsafe|Controversial</c> then <c>Categories: ...</c> (<c>None</c> when safe).</summary>
    Qwen3Guard,
}

/// <summary>
/// A guard model served the way Ollama and vLLM serve one: OpenAI's <c>POST /v1/chat/completions</c>, answering in the
/// model's documented verdict format; and a moderation endpoint in OpenAI's format, <c>POST /v1/moderations</c>
/// (<c>results[].flagged</c>, <c>categories</c> and <c>category_scores</c> for the documented categories). It judges the last user message with a word list per category (a message
/// holding one of a category's words, case-insensitive, is unsafe in that category), so tests see a real verdict
/// for what the gateway sent, not a scripted one. <see cref="Delay"/> and <see cref="FailWith"/> play a slow or
/// broken guard.
/// </summary>
public sealed class FakeGuardServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GuardFormat _format;
    private readonly IReadOnlyDictionary<string, string[]> _categories;
    private readonly ConcurrentQueue<string> _judged = new();

    private FakeGuardServer(WebApplication app, GuardFormat format, IReadOnlyDictionary<string, string[]> categories)
    {
        _app = app;
        _format = format;
        _categories = categories;
    }

    /// <summary>The OpenAI-style base URL, ending in <c>/v1</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    public string ApiKey { get; } = "sk-guard-" + Guid.NewGuid().ToString("N");

    /// <summary>The user messages judged, in order.</summary>
    public IReadOnlyList<string> Judged => [.. _judged];

    /// <summary>Waits this long before answering.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Answers with this HTTP status and an OpenAI error body instead of a verdict.</summary>
    public int? FailWith { get; set; }

    /// <param name="categories">Category (<c>S1</c>, <c>Violent</c>) → the words that put a message in it.</param>
    public static async Task<FakeGuardServer> StartAsync(GuardFormat format, IReadOnlyDictionary<string, string[]> categories)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeGuardServer(app, format, categories);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/') + "/v1";
        return server;
    }

    /// <summary>OpenAI's moderation categories (the omni-moderation models'), all reported in every result.</summary>
    private static readonly string[] ModerationCategories =
    [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent", "self-harm", "self-harm/intent",
        "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
    ];

    private async Task HandleAsync(HttpContext http)
    {
        var moderation = http.Request.Path == "/v1/moderations";
        if ((http.Request.Path != "/v1/chat/completions" && !moderation) || http.Request.Method != "POST")
        {
            http.Response.StatusCode = 404;
            return;
        }
        if (http.Request.Headers.Authorization != "Bearer " + ApiKey)
        {
            await ErrorAsync(http, 401, "Incorrect API key provided.").ConfigureAwait(false);
            return;
        }
        var body = await JsonNode.ParseAsync(http.Request.Body).ConfigureAwait(false);
        if (Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(Delay, http.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        if (FailWith is { } status)
        {
            await ErrorAsync(http, status, "The guard model is unavailable.").ConfigureAwait(false);
            return;
        }
        var message = moderation
            ? body!["input"] is JsonArray inputs ? string.Join("\n", inputs.Select(i => (string?)i)) : (string?)body["input"] ?? ""
            : body!["messages"]!.AsArray().LastOrDefault(m => (string?)m!["role"] == "user")?["content"]?.GetValue<string>() ?? "";
        _judged.Enqueue(message);
        var hit = _categories.Where(c => c.Value.Any(w => message.Contains(w, StringComparison.OrdinalIgnoreCase))).Select(c => c.Key).ToList();
        http.Response.ContentType = "application/json";
        if (moderation)
        {
            var categories = new JsonObject();
            var scores = new JsonObject();
            foreach (var c in ModerationCategories.Union(_categories.Keys))
            {
                categories[c] = hit.Contains(c);
                scores[c] = hit.Contains(c) ? 0.93 : 0.0004;
            }
            await http.Response.WriteAsync(new JsonObject
            {
                ["id"] = "modr-" + Guid.NewGuid().ToString("N")[..8],
                ["model"] = (string?)body["model"],
                ["results"] = new JsonArray(new JsonObject { ["flagged"] = hit.Count > 0, ["categories"] = categories, ["category_scores"] = scores }),
            }.ToJsonString()).ConfigureAwait(false);
            return;
        }
        var verdict = _format switch
        {
            GuardFormat.LlamaGuard => hit.Count == 0 ? "safe" : "unsafe\n" + string.Join(",", hit),
            _ => hit.Count == 0 ? "Safety: Safe\nCategories: None\n" : $"Safety: Unsafe\nCategories: {string.Join(", ", hit)}\n",
        };
        var answer = new JsonObject
        {
            ["id"] = "chatcmpl-guard" + Guid.NewGuid().ToString("N")[..8],
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = (string?)body["model"],
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = verdict },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = message.Split(' ').Length + 20, ["completion_tokens"] = verdict.Split('\n').Length, ["total_tokens"] = message.Split(' ').Length + 20 + verdict.Split('\n').Length },
        };
        await http.Response.WriteAsync(answer.ToJsonString()).ConfigureAwait(false);
    }

    private static async Task ErrorAsync(HttpContext http, int status, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type = "server_error", param = (string?)null, code = (string?)null } })).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
