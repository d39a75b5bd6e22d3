using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// A virtual key's policy holds on every route that calls a model, not only chat completions: embeddings (allowed
/// models, RPM, reservation at the embedding price, settlement) and the Anthropic Messages and Responses APIs (refused
/// before any upstream call, in the route's own error shape, with the reset time and <c>Retry-After</c>).
/// </summary>
public sealed class BudgetEndpointsTests : GatewayWithUpstream
{
    private const string Chat = "fake/gpt-4o-mini", Embed = "fake/text-embedding-3-small";

    protected override IEnumerable<KeyValuePair<string, string>> Settings(FakeOpenAiServer upstream) =>
    [
        .. GatewayServer.Upstream(upstream),
        .. Price("fake/gpt-4o-mini", 1000, 2000),
        .. Price("fake/text-embedding-3-small", 500, 0),
    ];

    private static IEnumerable<KeyValuePair<string, string>> Price(string deployment, decimal input, decimal output) =>
    [
        new($"Metering:Prices:{deployment}:Currency", "USD"),
        new($"Metering:Prices:{deployment}:Input", input.ToString(CultureInfo.InvariantCulture)),
        new($"Metering:Prices:{deployment}:Output", output.ToString(CultureInfo.InvariantCulture)),
        new($"Metering:Prices:{deployment}:MaxOutputTokens", "64"),
    ];

    private async Task<(string Id, string Secret)> KeyAsync(object body)
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/admin/keys", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        var k = JsonDocument.Parse(text).RootElement;
        return (k.GetProperty("id").GetString()!, k.GetProperty("key").GetString()!);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(string path, string secret, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new("Bearer", secret);
        var response = await Gateway.Anonymous.SendAsync(request);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (response.StatusCode, json, response);
    }

    private static object Embedding(string input) => new { model = Embed, input };

    private static string Words(int n) => string.Join(' ', Enumerable.Range(0, n).Select(i => "word" + i.ToString(CultureInfo.InvariantCulture)));

    [Fact]
    public async Task Embeddings_respect_the_keys_allowed_models()
    {
        var (_, secret) = await KeyAsync(new { name = "chat-only", allowed_models = new[] { Chat } });

        var (status, body, _) = await PostAsync("/v1/embeddings", secret, Embedding("hello"));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("model_not_allowed", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Embeddings_count_against_the_keys_rpm_limit()
    {
        var (_, secret) = await KeyAsync(new { name = "slow", rpm_limit = 1 });

        var first = await PostAsync("/v1/embeddings", secret, Embedding("hello"));
        var second = await PostAsync("/v1/embeddings", secret, Embedding("hello again"));

        Assert.Equal(HttpStatusCode.OK, first.Status);
        // Both may straddle a clock minute on a slow machine; then the second is admitted in the new minute.
        if (second.Status != HttpStatusCode.OK)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, second.Status);
            Assert.Equal("rate_limit_exceeded", second.Body.GetProperty("error").GetProperty("code").GetString());
            Assert.NotNull(second.Response.Headers.RetryAfter);
            Assert.Single(Upstream.Requests);
        }
    }

    [Fact]
    public async Task Embeddings_reserve_their_input_tokens_at_the_embedding_price_and_settle_to_the_metered_cost()
    {
        // 500 USD per million input tokens: a budget of 0.05 USD covers about 100 tokens (with the 1.5 head-room, ~66).
        var (keyId, secret) = await KeyAsync(new { name = "embedder", budget = new { amount = "0.05", currency = "USD", period = "total" } });

        var small = await PostAsync("/v1/embeddings", secret, Embedding(Words(5)));
        Assert.Equal(HttpStatusCode.OK, small.Status);
        var big = await PostAsync("/v1/embeddings", secret, Embedding(Words(400)));

        Assert.Equal(HttpStatusCode.TooManyRequests, big.Status);
        Assert.Equal("budget_exceeded", big.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Single(Upstream.Requests); // refused before any upstream call

        var rows = (await Gateway.LedgerAsync(2)).Where(r => r.KeyId == keyId).ToList();
        var ok = Assert.Single(rows, r => r.Status == 200);
        Assert.True(ok.Cost > 0m);
        var key = JsonDocument.Parse(await Gateway.Http.GetStringAsync($"/admin/keys/{keyId}")).RootElement;
        Assert.Equal(ok.Cost, decimal.Parse(key.GetProperty("budget").GetProperty("spent").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(0m, decimal.Parse(key.GetProperty("budget").GetProperty("reserved").GetString()!, CultureInfo.InvariantCulture));
    }

    private Task<(string Id, string Secret)> ExhaustedDailyKeyAsync() =>
        KeyAsync(new { name = "broke", budget = new { amount = "0.000001", currency = "USD", period = "daily" } });

    private static void AssertResetInformation(HttpResponseMessage response, string message)
    {
        // Retry-After in seconds until the daily reset, and the same reset as an ISO 8601 UTC time in the message.
        var retry = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retry);
        Assert.InRange(retry.Value, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        var iso = Regex.Match(message, @"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z");
        Assert.True(iso.Success, message);
        var resetsAt = DateTimeOffset.Parse(iso.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.Equal(TimeSpan.Zero, resetsAt.UtcDateTime.TimeOfDay); // daily budgets reset at midnight UTC
        Assert.InRange(resetsAt - DateTimeOffset.UtcNow, retry.Value - TimeSpan.FromMinutes(1), retry.Value + TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Anthropic_messages_with_an_exhausted_budget_get_anthropics_429()
    {
        var (_, secret) = await ExhaustedDailyKeyAsync();

        var (status, body, response) = await PostAsync("/v1/messages", secret,
            new { model = Chat, max_tokens = 50, messages = new[] { new { role = "user", content = "hello" } } });

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal("rate_limit_error", body.GetProperty("error").GetProperty("type").GetString());
        var message = body.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("budget", message);
        AssertResetInformation(response, message);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Responses_api_with_an_exhausted_budget_gets_openais_429()
    {
        var (_, secret) = await ExhaustedDailyKeyAsync();

        var (status, body, response) = await PostAsync("/v1/responses", secret, new { model = Chat, input = "hello", max_output_tokens = 50 });

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        var error = body.GetProperty("error");
        Assert.Equal("budget_exceeded", error.GetProperty("code").GetString());
        AssertResetInformation(response, error.GetProperty("message").GetString()!);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Chat_completions_budget_429_carries_the_reset_time_and_retry_after()
    {
        var (_, secret) = await ExhaustedDailyKeyAsync();

        var (status, body, response) = await PostAsync("/v1/chat/completions", secret,
            new { model = Chat, max_tokens = 50, messages = new[] { new { role = "user", content = "hello" } } });

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("budget_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        AssertResetInformation(response, body.GetProperty("error").GetProperty("message").GetString()!);
    }
}
