using System.Net;
using System.Text;
using Sanjia.Abstractions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Cli;
using Sanjia.Core.Metering;
using Sanjia.Core.Traffic;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Postgres;

namespace Sanjia.Api.FunctionalTests.Storage;

/// <summary>
/// Erasure (<c>DELETE /admin/keys/{id}/data</c>, <c>DELETE /admin/end-users/{user}/data</c>, <c>sanjia db delete</c>) and
/// retention (<c>Sanjia:Storage:Retention</c>) as an operator uses them, on SQLite and on PostgreSQL.
/// </summary>
public sealed class DataDeletionTests
{
    /// <summary>The storage arguments: none for SQLite, a fresh database for PostgreSQL (skipped without it, outside CI).</summary>
    private static async Task<string[]> StorageAsync(bool postgres)
    {
        if (!postgres) return [];
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.False(PostgresServer.RequiredByCi, $"CI is set, so PostgreSQL is required: {reason}");
            Skip.If(true, reason);
        }
        return [$"--Sanjia:Storage:Postgres={await (await PostgresServer.GetAsync()).CreateDatabaseAsync($"sanjia_erase_{Guid.NewGuid():N}")}"];
    }

    private static async Task<string> ChatAsync(GatewayServer gw, string key, string? user)
    {
        var body = user is null
            ? """{"model":"chat","messages":[{"role":"user","content":"hello"}]}"""
            : $$"""{"model":"chat","user":"{{user}}","messages":[{"role":"user","content":"hello"}]}""";
        using var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", key);
        m.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var r = await gw.Anonymous.SendAsync(m);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        await r.Content.ReadAsStringAsync();
        return r.Headers.GetValues("x-request-id").Single();
    }

    /// <summary>Logged bodies are written off the request path: waits (bounded) until <paramref name="count"/> are stored.</summary>
    private static async Task<IReadOnlyList<LoggedExchange>> BodiesAsync(GatewayServer gw, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var rows = await gw.Service<IBodyLogStore>().ReadAsync(new BodyLogQuery(null, null, null, null, 1000), CancellationToken.None);
            if (rows.Count >= count) return rows;
            Assert.True(DateTime.UtcNow < deadline, $"{rows.Count} of {count} bodies logged after 30 s");
            await Task.Delay(20);
        }
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_revoked_keys_data_and_an_end_users_bodies_are_deleted_and_nothing_else(bool postgres)
    {
        var storage = await StorageAsync(postgres);
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync([.. MeteringSetup.Settings(upstream), "--Sanjia:Logging:Bodies=true", .. storage]);
        var (a, secretA) = await gw.CreateKeyAsync(new { name = "leaving" });
        var (b, secretB) = await gw.CreateKeyAsync(new { name = "staying" });
        await ChatAsync(gw, secretA, "alice");
        await ChatAsync(gw, secretA, null);
        var bAlice = await ChatAsync(gw, secretB, "alice");
        var bBob = await ChatAsync(gw, secretB, "bob");
        await BodiesAsync(gw, 4);

        // An active key is refused: a request after the delete would leave a row behind.
        var active = await gw.AdminAsync(HttpMethod.Delete, $"/admin/keys/{a}/data", expect: 400);
        Assert.Equal("key_not_revoked", active.GetProperty("error").GetProperty("code").GetString());
        // A key id that does not exist (a typo) is a 404, not a success that deleted nothing.
        var unknown = await gw.AdminAsync(HttpMethod.Delete, "/admin/keys/key_typo/data", expect: 404);
        Assert.Equal(("key_not_found", "id"), (unknown.GetProperty("error").GetProperty("code").GetString(), unknown.GetProperty("error").GetProperty("param").GetString()));

        await gw.AdminAsync(HttpMethod.Delete, $"/admin/keys/{a}");
        var deleted = await gw.AdminAsync(HttpMethod.Delete, $"/admin/keys/{a}/data");
        Assert.Equal(a, deleted.GetProperty("key_id").GetString());
        Assert.Equal(2, deleted.GetProperty("deleted").GetProperty("ledger").GetInt64());
        Assert.Equal(2, deleted.GetProperty("deleted").GetProperty("body_log").GetInt64());
        var spend = await gw.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=key");
        Assert.Equal([b], spend.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("group").GetString()));

        // Alice's other body (through key B) goes; the ledger has no end user, so B's rows stay.
        var alice = await gw.AdminAsync(HttpMethod.Delete, "/admin/end-users/alice/data");
        Assert.Equal(("alice", 0, 1), (alice.GetProperty("user").GetString(), alice.GetProperty("deleted").GetProperty("ledger").GetInt64(),
            alice.GetProperty("deleted").GetProperty("body_log").GetInt64()));
        Assert.Equal([bBob], (await BodiesAsync(gw, 1)).Select(e => e.RequestId));
        Assert.Equal(new[] { bAlice, bBob }.Order(StringComparer.Ordinal), (await gw.LedgerAsync(2)).Select(e => e.RequestId).Order(StringComparer.Ordinal));

        // A model key cannot erase anything.
        using var m = gw.Request(HttpMethod.Delete, "/admin/end-users/bob/data", secretB);
        using var refused = await gw.Anonymous.SendAsync(m);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Retention_deletes_ledger_rows_and_bodies_older_than_their_days_and_keeps_the_rest(bool postgres)
    {
        var storage = await StorageAsync(postgres);
        await using var upstream = await FakeOpenAiServer.StartAsync();
        var now = DateTimeOffset.UtcNow;
        string[] args = [.. MeteringSetup.Settings(upstream), "--Sanjia:Logging:Bodies=true", .. storage,
            "--Sanjia:Storage:Retention:LedgerDays=40", "--Sanjia:Storage:Retention:BodyLogDays=7"];
        var dataDir = GatewayServer.NewDataDir();
        // Old rows, as a gateway running for months leaves them, written before the gateway with retention starts.
        var seed = await GatewayServer.StartInAsync(dataDir, [.. MeteringSetup.Settings(upstream), .. storage]);
        await seed.Service<ILedgerStore>().AppendAsync(
        [
            Row("ledger-60-days", now.AddDays(-60)), Row("ledger-41-days", now.AddDays(-41)), Row("ledger-39-days", now.AddDays(-39)),
        ], CancellationToken.None);
        await seed.Service<IBodyLogStore>().WriteAsync([Body("body-8-days", now.AddDays(-8)), Body("body-6-days", now.AddDays(-6))], CancellationToken.None);
        await seed.StopAsync(); // keeps the data folder
        await using var gw = await GatewayServer.StartInAsync(dataDir, args);
        var fresh = await ChatAsync(gw, GatewayServer.MasterKey, null);

        // The sweep runs at start, off the request path: wait (bounded) for it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var ledger = (await gw.LedgerAsync(1)).Select(e => e.RequestId).ToHashSet();
            var bodies = (await BodiesAsync(gw, 1)).Select(e => e.RequestId).ToHashSet();
            if (!ledger.Contains("ledger-60-days") && !ledger.Contains("ledger-41-days") && !bodies.Contains("body-8-days") && ledger.Contains(fresh))
            {
                Assert.True(ledger.Contains("ledger-39-days") && bodies.Contains("body-6-days"), $"the ledger holds {string.Join(", ", ledger)}; the body log {string.Join(", ", bodies)}");
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"after 30 s the ledger holds {string.Join(", ", ledger)}; the body log {string.Join(", ", bodies)}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public void A_ledger_retention_shorter_than_a_monthly_budget_stops_start_up_naming_the_setting()
    {
        var dataDir = GatewayServer.NewDataDir();
        try
        {
            var e = Assert.Throws<Sanjia.Core.Configuration.ConfigurationException>(() => Sanjia.Hosting.GatewayApp.Build(
                [.. GatewayServer.BaseArgs(dataDir), "--Sanjia:Storage:Retention:LedgerDays=10", "--Sanjia:Storage:Retention:BodyLogDays=-1"]));
            Assert.Contains(e.Errors, x => x.StartsWith("Sanjia:Storage:Retention:LedgerDays:", StringComparison.Ordinal));
            Assert.Contains(e.Errors, x => x.StartsWith("Sanjia:Storage:Retention:BodyLogDays:", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sanjia_db_delete_removes_a_revoked_keys_rows_and_refuses_an_active_key(bool postgres)
    {
        var storage = await StorageAsync(postgres);
        await using var upstream = await FakeOpenAiServer.StartAsync();
        var dataDir = GatewayServer.NewDataDir();
        var first = await GatewayServer.StartInAsync(dataDir, [.. MeteringSetup.Settings(upstream), .. storage]);
        var (a, secretA) = await first.CreateKeyAsync(new { name = "leaving" });
        var (b, secretB) = await first.CreateKeyAsync(new { name = "staying" });
        await ChatAsync(first, secretA, null);
        await ChatAsync(first, secretB, null);
        await first.LedgerAsync(2);
        await first.StopAsync(); // keeps the data folder: the command works on the stores with no gateway running
        string[] where = postgres ? ["--postgres", storage[0][(storage[0].IndexOf('=') + 1)..]] : ["--data", dataDir];
        async Task<(int Code, string Output, string Error)> Run(params string[] args)
        {
            var output = new StringWriter();
            var error = new StringWriter();
            var code = await SanjiaCli.RunCommandAsync(["db", "delete", .. args, .. where], output, error, CancellationToken.None) ?? -1;
            return (code, output.ToString(), error.ToString());
        }

        var active = await Run("--key", a);
        Assert.Equal(1, active.Code);
        Assert.True(active.Error.Contains("revoke it first", StringComparison.Ordinal), active.Error);
        var unknown = await Run("--key", "key_typo");
        Assert.Equal(1, unknown.Code);
        Assert.True(unknown.Error.Contains("no key 'key_typo'", StringComparison.Ordinal), unknown.Error);
        Assert.DoesNotContain("rows deleted", unknown.Output, StringComparison.Ordinal);

        var second = await GatewayServer.StartInAsync(dataDir, [.. MeteringSetup.Settings(upstream), .. storage]);
        await second.AdminAsync(HttpMethod.Delete, $"/admin/keys/{a}");
        await second.StopAsync();
        var done = await Run("--key", a);
        Assert.True(done.Code == 0, done.Error);
        Assert.Contains("ledger: 1 rows deleted", done.Output, StringComparison.Ordinal);
        await using (var gw = await GatewayServer.StartInAsync(dataDir, [.. MeteringSetup.Settings(upstream), .. storage]))
        {
            Assert.Equal([b], (await gw.LedgerAsync(1)).Select(e => e.KeyId));
        }
        Assert.Equal(2, (await Run("--key", a, "--user", "x")).Code);
    }

    [Theory]
    [InlineData("%20")]
    [InlineData("%20%09%20")]
    public async Task A_blank_end_user_id_is_a_400_naming_it(string user)
    {
        // It answered 200 with nothing deleted, which reads as done.
        await using var gw = await GatewayServer.StartWithArgsAsync();
        var error = (await gw.AdminAsync(HttpMethod.Delete, $"/admin/end-users/{user}/data", expect: 400)).GetProperty("error");
        Assert.Equal("user", error.GetProperty("param").GetString());
        Assert.Contains("end-user id", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static LedgerEntry Row(string id, DateTimeOffset at) => new()
    {
        RequestId = id, Timestamp = at, Endpoint = "/v1/chat/completions", Model = "chat", Status = 200, Usage = new TokenUsage(1, 1),
    };

    private static LoggedExchange Body(string id, DateTimeOffset at) => new()
    {
        RequestId = id, Timestamp = at, Model = "chat", Endpoint = "/v1/chat/completions", RequestBody = "{}", ResponseText = "ok",
    };
}
