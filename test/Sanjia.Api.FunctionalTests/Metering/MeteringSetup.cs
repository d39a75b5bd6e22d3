using System.Globalization;
using Microsoft.Data.Sqlite;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// What the metering tests put behind <see cref="GatewayServer"/>: a <see cref="FakeOpenAiServer"/> as provider
/// <c>fake</c> and one alias <c>chat</c> → <c>fake/gpt-test</c> priced by configuration (USD 1000 input, 250 cached
/// input, 2000 output per million tokens: large enough that a few requests exhaust a small budget); and ledger
/// readers that go straight to SQLite.
/// </summary>
internal static class MeteringSetup
{
    public const decimal InputPrice = 1000m, CachedPrice = 250m, OutputPrice = 2000m;

    /// <summary>The provider, alias and price arguments.</summary>
    public static string[] Settings(FakeOpenAiServer upstream)
    {
        var p = "--Sanjia:Metering:Prices:fake/gpt-test:";
        return
        [
            .. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "fake", "gpt-test"),
            $"{p}Currency=USD", $"{p}Input={InputPrice}", $"{p}CachedInput={CachedPrice}", $"{p}Output={OutputPrice}", $"{p}MaxOutputTokens=64",
        ];
    }

    /// <summary>The whole command line for a gateway started as its own process on <paramref name="urls"/>.</summary>
    public static string[] Args(FakeOpenAiServer upstream, string dataDir, string urls) =>
        [.. GatewayServer.BaseArgs(dataDir, urls: urls), .. Settings(upstream)];

    public static StringContent ChatBody(string prompt = "Say hello to the budget test", bool stream = false, int? maxTokens = 40) =>
        GatewayServer.ChatBody("chat", prompt, stream, maxTokens);

    /// <summary>Sums ledger costs straight from SQLite, independently of the gateway's report code.</summary>
    public static Dictionary<string, decimal> LedgerTotals(string databasePath, string? keyId = null)
    {
        using var c = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT currency, cost FROM ledger WHERE cost IS NOT NULL" + (keyId is null ? "" : " AND key_id = $k");
        if (keyId is not null) cmd.Parameters.AddWithValue("$k", keyId);
        var totals = new Dictionary<string, decimal>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var cur = r.GetString(0);
            totals[cur] = totals.GetValueOrDefault(cur) + decimal.Parse(r.GetString(1), NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return totals;
    }

    public static HashSet<string> LedgerRequestIds(string databasePath)
    {
        using var c = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT request_id FROM ledger";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        using var r = cmd.ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }
}
