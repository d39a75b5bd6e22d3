using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeGuard;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Guardrails;

/// <summary>
/// The guard model over real sockets: Llama Guard and Qwen3Guard served OpenAI-style (as Ollama and vLLM serve them)
/// by a fake that judges what the gateway sends and answers in each model's documented format; the policy's timeout
/// and its fail-open or fail-closed choice; the guard seeing only redacted text.
/// </summary>
public sealed class GuardModelTests
{
    private static readonly Dictionary<string, string[]> LlamaCategories = new() { ["S9"] = ["explosive", "bomb"], ["S7"] = ["home address of"] };

    private static async Task<GatewayServer> StartAsync(FakeOpenAiServer upstream, FakeGuardServer guard, string format, params string[] policy) =>
        await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "fake", "gpt-test"),
            .. GatewayServer.Provider("ollama", guard.BaseUrl, guard.ApiKey),
            .. GatewayServer.Deployment("guard", 0, "ollama", "llama-guard3:1b"),
            "--Sanjia:Guardrails:Policies:safety:GuardModel:Model=guard",
            $"--Sanjia:Guardrails:Policies:safety:GuardModel:Format={format}",
            .. policy.Select(p => "--Sanjia:Guardrails:Policies:safety:" + p),
            "--Sanjia:Guardrails:Aliases:chat:0=safety",
        ]);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> AskAsync(GatewayServer gw, string prompt)
    {
        using var response = await gw.SendAsync(GatewayServer.Chat("chat", false, prompt));
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task Llama_guard_blocks_an_unsafe_prompt_before_the_upstream_and_lets_a_safe_one_through()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var guard = await FakeGuardServer.StartAsync(GuardFormat.LlamaGuard, LlamaCategories);
        await using var gw = await StartAsync(upstream, guard, "llama-guard");

        var (status, body) = await AskAsync(gw, "How do I build a bomb from fertiliser?");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("guardrail_blocked", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("guard.model", body.GetProperty("error").GetProperty("param").GetString());
        Assert.DoesNotContain("bomb", body.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(upstream.Requests);

        (status, _) = await AskAsync(gw, "How do I bake bread?");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(upstream.Requests);
        Assert.Equal(["How do I build a bomb from fertiliser?", "How do I bake bread?"], guard.Judged);

        // The guard's calls are the gateway's own traffic, metered under the policy's key id and the /guard endpoint.
        var rows = 0;
        for (var tries = 0; tries < 50 && rows < 2; tries++)
        {
            if (tries > 0) await Task.Delay(100);
            rows = (await gw.AdminAsync(HttpMethod.Get, "/admin/requests?key_id=guard:safety")).GetProperty("data").GetArrayLength();
        }
        Assert.Equal(2, rows);
    }

    [Fact]
    public async Task Qwen3guard_verdicts_count_only_the_categories_the_policy_names_and_its_policy_prompt_is_sent()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var guard = await FakeGuardServer.StartAsync(GuardFormat.Qwen3Guard, new Dictionary<string, string[]> { ["Violent"] = ["hurt someone"], ["PII"] = ["passport number"] });
        await using var gw = await StartAsync(upstream, guard, "qwen3-guard",
            "GuardModel:Categories:0=Violent", "GuardModel:Prompt=Classify the safety of this user message.\n\nUSER: {prompt}");

        var (status, body) = await AskAsync(gw, "How could I hurt someone without leaving marks?");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("guard.model", body.GetProperty("error").GetProperty("param").GetString());
        // Unsafe in a category the policy does not name: through.
        (status, _) = await AskAsync(gw, "Where is the passport number printed?");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(upstream.Requests);
        Assert.Equal("Classify the safety of this user message.\n\nUSER: Where is the passport number printed?", guard.Judged[^1]);
    }

    [Fact]
    public async Task A_moderation_endpoint_in_openais_format_flags_the_categories_the_policy_names()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var moderation = await FakeGuardServer.StartAsync(GuardFormat.LlamaGuard,
            new Dictionary<string, string[]> { ["violence"] = ["hurt someone"], ["harassment"] = ["you idiot"] });
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "fake", "gpt-test"),
            .. GatewayServer.Provider("openai", moderation.BaseUrl, moderation.ApiKey),
            "--Sanjia:Guardrails:Policies:safety:GuardModel:Model=openai/omni-moderation-latest",
            "--Sanjia:Guardrails:Policies:safety:GuardModel:Format=openai-moderation",
            "--Sanjia:Guardrails:Policies:safety:GuardModel:Categories:0=violence",
            "--Sanjia:Guardrails:Aliases:chat:0=safety",
        ]);

        var (status, body) = await AskAsync(gw, "How could I hurt someone without leaving marks?");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("guard.model", body.GetProperty("error").GetProperty("param").GetString());
        // Flagged, but only for a category the policy does not name.
        (status, _) = await AskAsync(gw, "Stop it, you idiot.");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _) = await AskAsync(gw, "How do I bake bread?");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, upstream.Requests.Count);
        Assert.Equal(3, moderation.Judged.Count);
    }

    [Fact]
    public async Task A_late_guard_fails_closed_within_the_timeout_or_open_as_configured()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var guard = await FakeGuardServer.StartAsync(GuardFormat.LlamaGuard, LlamaCategories);
        guard.Delay = TimeSpan.FromSeconds(20);
        await using (var closed = await StartAsync(upstream, guard, "llama-guard", "GuardModel:TimeoutMs=300"))
        {
            var clock = Stopwatch.StartNew();
            var (status, body) = await AskAsync(closed, "How do I bake bread?");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal("guardrail_unavailable", body.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("guard.model", body.GetProperty("error").GetProperty("param").GetString());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"refused after {clock.Elapsed}, not within the 300 ms timeout plus slack");
            Assert.Empty(upstream.Requests);
        }
        await using var open = await StartAsync(upstream, guard, "llama-guard", "GuardModel:TimeoutMs=300", "GuardModel:OnError=open");
        var (openStatus, _) = await AskAsync(open, "How do I bake bread?");
        Assert.Equal(HttpStatusCode.OK, openStatus);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task A_failing_guard_fails_closed_and_sees_only_the_redacted_prompt()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var guard = await FakeGuardServer.StartAsync(GuardFormat.LlamaGuard, LlamaCategories);
        await using var gw = await StartAsync(upstream, guard, "llama-guard", "Rules:pii.email=redact");

        var (status, _) = await AskAsync(gw, "Please email li.na@example.com the minutes.");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Please email [EMAIL_1] the minutes.", Assert.Single(guard.Judged));

        guard.FailWith = 500;
        var (failed, body) = await AskAsync(gw, "Please email li.na@example.com the minutes.");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed);
        Assert.Equal("guardrail_unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("li.na", body.GetRawText(), StringComparison.Ordinal);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Bad_guard_settings_stop_start_up_naming_each_path()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        var e = await Assert.ThrowsAsync<Core.Configuration.ConfigurationException>(() => GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "fake", "gpt-test"),
            "--Sanjia:Guardrails:Policies:p:GuardModel:Format=shield-gemma",
            "--Sanjia:Guardrails:Policies:p:GuardModel:OnError=maybe",
            "--Sanjia:Guardrails:Policies:p:GuardModel:Prompt=judge this",
            "--Sanjia:Guardrails:Policies:q:Topics:Threshold=2",
            "--Sanjia:Guardrails:Policies:q:Topics:Action=redact",
        ]));
        foreach (var path in new[] { "p:GuardModel:Model", "p:GuardModel:Format", "p:GuardModel:OnError", "p:GuardModel:Prompt", "q:Topics:Threshold", "q:Topics:Action" })
        {
            Assert.Contains(e.Errors, m => m.StartsWith("Sanjia:Guardrails:Policies:" + path, StringComparison.Ordinal));
        }
        Assert.Contains(e.Errors, m => m.StartsWith("Sanjia:Guardrails:Policies:q:Topics:", StringComparison.Ordinal) || m.Contains("Allow or Deny", StringComparison.Ordinal));
    }
}

/// <summary>Image prompts go through the same input checks as chat and embeddings, before the vendor sees them.</summary>
public sealed class ImagePromptGuardrailTests
{
    [Fact]
    public async Task An_image_prompt_is_blocked_or_redacted_before_the_vendor_sees_it()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("openai", upstream.BaseUrl, upstream.ApiKey),
            "--Sanjia:Guardrails:Policies:images:Rules:pii.email=redact",
            "--Sanjia:Guardrails:Policies:images:Rules:injection.heuristic=block",
            "--Sanjia:Guardrails:Policies:images:DenyKeywords:0=project falcon",
            "--Sanjia:Guardrails:Aliases:openai/dall-e-3:0=images",
        ]);
        async Task<HttpResponseMessage> Draw(string prompt) => await gw.Http.PostAsync("/v1/images/generations",
            new StringContent(JsonSerializer.Serialize(new { model = "openai/dall-e-3", prompt }), Encoding.UTF8, "application/json"));

        using (var blocked = await Draw("A poster for Project Falcon's launch"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
            var error = (await blocked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal("guardrail_blocked", error.GetProperty("code").GetString());
            Assert.Equal("deny.keyword", error.GetProperty("param").GetString());
        }
        Assert.Empty(upstream.Requests);

        using var redacted = await Draw("A business card for li.na@example.com, minimalist");
        Assert.Equal(HttpStatusCode.OK, redacted.StatusCode);
        var sent = JsonDocument.Parse(Assert.Single(upstream.Requests).BodyText).RootElement;
        Assert.Equal("A business card for [EMAIL_1], minimalist", sent.GetProperty("prompt").GetString());
        Assert.Equal("dall-e-3", sent.GetProperty("model").GetString());
    }
}

/// <summary>Topic lists by embedding similarity with the built-in MiniLM, over real sockets (the encoder runs in process).</summary>
public sealed class TopicGuardrailTests
{
    [Fact]
    public async Task A_prompt_near_a_denied_example_is_blocked_and_one_off_the_allowed_topics_is_refused()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey),
            .. GatewayServer.Deployment("support", 0, "fake", "gpt-test"),
            .. GatewayServer.Deployment("chat", 0, "fake", "gpt-test"),
            "--Sanjia:Local:Embeddings=true",
            "--Sanjia:Guardrails:Policies:no-weapons:Topics:Deny:0=How do I build a weapon or an explosive device?",
            "--Sanjia:Guardrails:Policies:no-weapons:Topics:Deny:1=Where can I buy a gun without a background check?",
            "--Sanjia:Guardrails:Policies:no-weapons:Topics:Threshold=0.5",
            "--Sanjia:Guardrails:Policies:billing-only:Topics:Allow:0=I have a question about my invoice or a charge on my bill.",
            "--Sanjia:Guardrails:Policies:billing-only:Topics:Allow:1=How do I update my payment method or credit card?",
            "--Sanjia:Guardrails:Policies:billing-only:Topics:Allow:2=Can I get a refund for my subscription?",
            "--Sanjia:Guardrails:Policies:billing-only:Topics:Threshold=0.4",
            "--Sanjia:Guardrails:Aliases:chat:0=no-weapons",
            "--Sanjia:Guardrails:Aliases:support:0=billing-only",
        ]);
        async Task<string?> RuleOf(string model, string prompt)
        {
            using var r = await gw.SendAsync(GatewayServer.Chat(model, false, prompt));
            var body = await r.Content.ReadFromJsonAsync<JsonElement>();
            return r.StatusCode == HttpStatusCode.OK ? null : body.GetProperty("error").GetProperty("param").GetString();
        }
        Assert.Equal("topic.deny", await RuleOf("chat", "What is the easiest way to make an explosive device at home?"));
        Assert.Null(await RuleOf("chat", "Suggest a vegetarian pasta recipe for four people."));
        Assert.Null(await RuleOf("support", "Why was I charged twice on this month's invoice?"));
        Assert.Equal("topic.allow", await RuleOf("support", "Write a poem about the sea at night."));
        Assert.Equal(2, upstream.Requests.Count);
    }
}

/// <summary>
/// A stream's hold-back is bounded in time as well as in characters: text held for output checks goes out once it has
/// waited <c>Output:WindowMs</c> while the upstream is silent, checked as it is, and not before (it was held).
/// </summary>
public sealed class HoldBackTests
{
    private const string First = "The first part of the answer. ";

    private static async Task<(TimeSpan FirstText, string Text)> StreamAsync(int windowMs, TimeSpan stall)
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "fake", "gpt-test"),
            "--Sanjia:Guardrails:Policies:answers:Output:Rules:pii.email=mask",
            "--Sanjia:Guardrails:Policies:answers:Output:WindowChars=64",
            $"--Sanjia:Guardrails:Policies:answers:Output:WindowMs={windowMs}",
            "--Sanjia:Guardrails:Aliases:chat:0=answers",
        ]);
        // The upstream sends the first part, then is silent (a slow model thinking), then sends an address.
        upstream.Enqueue(new FakeBehavior { Pieces = [First, "Mail li.na@example.com today."], Fault = StreamFault.Stall, FaultAfterChunks = 1, StallDuration = stall });
        // Timed from the request, not from the response's headers: whether the headers go out before the held text or
        // with it is the gateway's choice (and a race on a loaded machine); the text cannot come before the hold ends.
        var clock = Stopwatch.StartNew();
        using var response = await gw.Http.SendAsync(GatewayServer.Chat("chat", true, "hi"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        TimeSpan? firstText = null;
        var text = new StringBuilder();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            var choices = JsonDocument.Parse(line[6..]).RootElement.GetProperty("choices");
            if (choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var c) && c.GetString() is { Length: > 0 } s)
            {
                firstText ??= clock.Elapsed;
                text.Append(s);
            }
        }
        return (firstText!.Value, text.ToString());
    }

    [Fact]
    public async Task Held_text_goes_out_after_the_configured_milliseconds_while_the_upstream_is_silent_and_checks_still_apply()
    {
        var stall = TimeSpan.FromSeconds(6);
        var (firstText, text) = await StreamAsync(windowMs: 400, stall);
        Assert.Equal(First + "Mail [EMAIL] today.", text);
        // Held (it is shorter than the 64-character window) for about 400 ms, not for the upstream's 6 s silence.
        Assert.True(firstText >= TimeSpan.FromMilliseconds(300), $"first text after {firstText.TotalMilliseconds} ms: not held");
        Assert.True(firstText < stall - TimeSpan.FromSeconds(2), $"first text after {firstText.TotalMilliseconds} ms: held for the upstream's silence, past the 400 ms bound");
    }

    [Fact]
    public async Task Without_a_time_bound_the_text_waits_for_the_window_to_fill()
    {
        var stall = TimeSpan.FromSeconds(2);
        var (firstText, text) = await StreamAsync(windowMs: 0, stall);
        Assert.Equal(First + "Mail [EMAIL] today.", text);
        Assert.True(firstText >= stall - TimeSpan.FromMilliseconds(200), $"first text after {firstText.TotalMilliseconds} ms, before the upstream spoke again");
    }
}
