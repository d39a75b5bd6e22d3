using System.Net;
using System.Text.Json;
using Npgsql;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Core.Metering;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Postgres;

namespace Sanjia.Api.FunctionalTests.Storage;

/// <summary>
/// The gateway on PostgreSQL (<c>Sanjia:Storage:Postgres</c>), as an operator runs it: two instances, each with its own
/// data folder and journal, on one database. Needs the PostgreSQL binaries (<c>.ci/run</c> installs them): skipped
/// without them, except under CI, where their absence fails.
/// </summary>
public sealed class PostgresGatewayTests
{
    private static async Task<string> DatabaseAsync()
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.False(PostgresServer.RequiredByCi, $"CI is set, so PostgreSQL is required: {reason}");
            Skip.If(true, reason);
        }
        var server = await PostgresServer.GetAsync();
        return await server.CreateDatabaseAsync($"sanjia_gateway_{Guid.NewGuid():N}");
    }

    [SkippableFact]
    public async Task Two_instances_on_one_database_share_keys_and_one_ledger_and_each_reports_the_others_spend()
    {
        var database = await DatabaseAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        string[] Args() => [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}"];
        await using var a = await GatewayServer.StartWithArgsAsync(Args());
        var (keyId, secret) = await a.CreateKeyAsync(new { name = "shared", budget = new { amount = 100, currency = "USD", period = "monthly" } });
        // B starts after the key exists: it loads it from the database (not from a file of its own).
        await using var b = await GatewayServer.StartWithArgsAsync(Args());

        foreach (var (gw, i) in new[] { (a, 0), (b, 1), (b, 2) })
        {
            var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", secret);
            m.Content = MeteringSetup.ChatBody($"request {i}", stream: i == 2);
            using var r = await gw.Anonymous.SendAsync(m);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            await r.Content.ReadAsStringAsync();
        }
        await a.Service<JournaledLedger>().FlushAsync();
        await b.Service<JournaledLedger>().FlushAsync();

        // The rows, read straight from PostgreSQL: one per request, whichever instance served it.
        await using var ds = NpgsqlDataSource.Create(database);
        await using var cmd = ds.CreateCommand("SELECT count(*), sum(cost) FROM ledger WHERE key_id = $1 AND status = 200");
        cmd.Parameters.Add(new() { Value = keyId });
        await using var r2 = await cmd.ExecuteReaderAsync();
        Assert.True(await r2.ReadAsync());
        Assert.Equal(3L, r2.GetInt64(0));
        var total = r2.GetDecimal(1);
        Assert.True(total > 0m);

        // Either instance's spend report covers all three.
        foreach (var gw in new[] { a, b })
        {
            var spend = await gw.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=key");
            var row = spend.GetProperty("rows").EnumerateArray().Single(x => x.GetProperty("group").GetString() == keyId);
            Assert.Equal(3, row.GetProperty("requests").GetInt32());
            Assert.Equal(total, decimal.Parse(row.GetProperty("cost").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        }
        // Nothing went to SQLite files.
        Assert.False(File.Exists(a.DatabasePath));
        Assert.False(File.Exists(b.DatabasePath));
    }

    [SkippableFact]
    public async Task A_compare_run_is_kept_in_postgresql_and_every_instance_sees_its_cells()
    {
        var database = await DatabaseAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        string[] Args() => [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}"];
        await using var a = await GatewayServer.StartWithArgsAsync(Args());
        await using var b = await GatewayServer.StartWithArgsAsync(Args());

        const string Suite = """
            name: pg-suite
            defaults: { max_tokens: 10 }
            graders: [{ type: contains, value: Hello }]
            cases:
              - prompt: one
              - prompt: two
              - prompt: three
            """;
        var (started, _) = await a.PostAsync("/admin/compare", new { suite = Suite, models = new[] { "chat" }, concurrency = 2, run_id = "on-pg" });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var done = await Compare.AdminCompareTests.WaitAsync(a, "on-pg");
        Assert.Equal("completed", done["status"]!.GetValue<string>());

        // The run and its cells are rows of the shared database, not of a file in A's data folder.
        Assert.False(File.Exists(Path.Combine(a.DataDir, "evaluations.db")));
        var run = await b.Service<Sanjia.Evaluation.Storage.IEvaluationStore>().GetRunAsync("on-pg", CancellationToken.None);
        Assert.Equal(("pg-suite", "completed"), (run!.SuiteName, run.Status));
        var cells = await b.Service<Sanjia.Evaluation.Storage.IEvaluationStore>().GetResultsAsync("on-pg", CancellationToken.None);
        Assert.Equal(3, cells.Count);
        Assert.All(cells, c => Assert.False(c.Failed, c.Error));
        await using var ds = NpgsqlDataSource.Create(database);
        await using (var cmd = ds.CreateCommand("SELECT count(*) FROM eval_cells WHERE run_id = 'on-pg'"))
        {
            Assert.Equal(3L, await cmd.ExecuteScalarAsync());
        }

        // `sanjia compare` with the gateway's setting in its environment keeps its run there too (no evaluations.db).
        var suiteFile = Path.Combine(b.DataDir, "suite.yaml");
        await File.WriteAllTextAsync(suiteFile, Suite);
        var cliData = Path.Combine(b.DataDir, "cli");
        var output = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(output), Interactive = Spectre.Console.InteractionSupport.No, Ansi = Spectre.Console.AnsiSupport.No,
        });
        var code = await Sanjia.Cli.CompareCommand.RunAsync(
            ["--suite", suiteFile, "--models", "chat", "--url", b.BaseUrl, "--key", GatewayServer.MasterKey, "--data", cliData, "--run-id", "from-cli", "--no-stream"],
            new Sanjia.Cli.CompareCommandEnvironment(console, name => name == "Sanjia__Storage__Postgres" ? database : null), CancellationToken.None);
        Assert.True(code == Sanjia.Cli.CompareCommand.Ok, output.ToString());
        Assert.False(File.Exists(Path.Combine(cliData, "evaluations.db")));
        var runs = await a.Service<Sanjia.Evaluation.Storage.IEvaluationStore>().ListRunsAsync(CancellationToken.None);
        Assert.Equal(["on-pg", "from-cli"], runs.Select(r => r.RunId));
        Assert.Equal(3, (await a.Service<Sanjia.Evaluation.Storage.IEvaluationStore>().GetResultsAsync("from-cli", CancellationToken.None)).Count);
    }

    [Fact]
    public void A_misspelt_storage_setting_or_a_malformed_connection_string_stops_start_up_naming_the_path()
    {
        var dataDir = GatewayServer.NewDataDir();
        try
        {
            var misspelt = Assert.Throws<Sanjia.Core.Configuration.ConfigurationException>(() => Sanjia.Hosting.GatewayApp.Build(
                [.. GatewayServer.BaseArgs(dataDir), "--Sanjia:Storage:Postgress=Host=x"]));
            Assert.Contains(misspelt.Errors, e => e.StartsWith("Sanjia:Storage:Postgress", StringComparison.Ordinal) && e.Contains("'Postgres'", StringComparison.Ordinal));

            var malformed = Assert.Throws<Sanjia.Core.Configuration.ConfigurationException>(() => Sanjia.Hosting.GatewayApp.Build(
                [.. GatewayServer.BaseArgs(dataDir), "--Sanjia:Storage:Postgres=Hots=db;Password=secret"]));
            var error = Assert.Single(malformed.Errors);
            Assert.StartsWith("Sanjia:Storage:Postgres:", error, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public void A_database_that_cannot_be_reached_stops_start_up_in_one_line_without_the_password()
    {
        var dataDir = GatewayServer.NewDataDir();
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() => Sanjia.Hosting.GatewayApp.Build(
                [.. GatewayServer.BaseArgs(dataDir), $"--Sanjia:Storage:Postgres=Host=127.0.0.1;Port={port};Username=u;Password=secret;Timeout=3"]));
            Assert.StartsWith("the PostgreSQL database of Sanjia:Storage:Postgres cannot be used: ", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
