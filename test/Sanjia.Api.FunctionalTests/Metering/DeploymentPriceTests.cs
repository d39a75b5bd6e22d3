using System.Globalization;
using System.Net;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>An alias entry's <c>InputPricePerMillion</c>/<c>OutputPricePerMillion</c> price it for budgets, headers and the ledger.</summary>
public sealed class DeploymentPriceTests
{
    [Fact]
    public async Task A_budgeted_key_may_use_a_deployment_priced_only_by_its_alias_entry_and_is_charged_that_price()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("priced by the alias entry", promptTokens: 40, completionTokens: 10));
        // No Metering:Prices entry and no catalogue price for fake/house-model: only the deployment's own fields.
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey),
            .. GatewayServer.Deployment("house", 0, "fake", "house-model", "InputPricePerMillion=2.5", "OutputPricePerMillion=10"),
        ]);
        var (keyId, secret) = await gw.CreateKeyAsync(new { name = "budgeted", budget = new { amount = "1", currency = "USD", period = "daily" } });
        var expected = ((40 * 2.5m) + (10 * 10m)) / 1_000_000m;

        using var complete = await gw.Anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Headers = { { "Authorization", "Bearer " + secret } },
            Content = GatewayServer.ChatBody("house", maxTokens: 20),
        });
        var text = await complete.Content.ReadAsStringAsync();
        Assert.True(complete.StatusCode == HttpStatusCode.OK, text); // was 403 model_unpriced
        Assert.Equal(expected, decimal.Parse(complete.Headers.GetValues("x-sanjia-cost").Single(), CultureInfo.InvariantCulture));
        Assert.Equal("USD", complete.Headers.GetValues("x-sanjia-cost-currency").Single());
        Assert.Equal(expected, JsonDocument.Parse(text).RootElement.GetProperty("usage").GetProperty("cost").GetDecimal());

        using var stream = await gw.Anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Headers = { { "Authorization", "Bearer " + secret } },
            Content = new StringContent("""{"model":"house","stream":true,"max_tokens":20,"messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        }, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        await Sse.ReadDataAsync(stream);

        var rows = await gw.LedgerAsync(2);
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => { Assert.Equal(expected, r.Cost); Assert.Equal("USD", r.Currency); Assert.Equal(keyId, r.KeyId); });
        Assert.Equal(2 * expected, MeteringSetup.LedgerTotals(gw.DatabasePath, keyId)["USD"]);

        // The budget was charged the same, and nothing is left on hold.
        var budget = (await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{keyId}")).GetProperty("budget");
        Assert.Equal(2 * expected, decimal.Parse(budget.GetProperty("spent").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(0m, decimal.Parse(budget.GetProperty("reserved").GetString()!, CultureInfo.InvariantCulture));
    }
}
