using Sanjia.Abstractions;
using Sanjia.Cli;
using Sanjia.Core.Prompts;
using Sanjia.Core.Shadow;
using Sanjia.Core.Traffic;
using Sanjia.Storage.Postgres;
using Sanjia.Storage.Sqlite;
using Sanjia.Testing.Postgres;

namespace Sanjia.Api.FunctionalTests.Storage;

/// <summary><c>sanjia db copy</c>: a data folder's SQLite stores into PostgreSQL, whole, and nothing twice when run again.</summary>
public sealed class DbCopyTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("sanjia-db-copy-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 12, 0, 0, 250, TimeSpan.Zero);

    private static LedgerEntry Row(int i) => new()
    {
        RequestId = $"req-{i:D5}", Attempt = 1 + i % 2, Timestamp = T0.AddSeconds(i), KeyId = i % 3 == 0 ? null : "key_1", TeamId = "team_1",
        Endpoint = "/v1/chat/completions", Model = "chat", Deployment = "fake/gpt-test", Provider = "fake",
        Usage = new TokenUsage(10 + i, 5, CachedInput: i % 4), Status = i % 10 == 9 ? 502 : 200, ErrorCode = i % 10 == 9 ? "upstream_error" : null,
        LatencyMs = 12.5 + i, TimeToFirstTokenMs = i % 2 == 0 ? 3.25 : null, Stream = i % 2 == 0, Cost = 0.000001m * i, Currency = "USD",
    };

    private async Task<(IReadOnlyList<LedgerEntry> Ledger, VirtualKey Key, Team Team)> FillSqliteAsync()
    {
        var ledger = Enumerable.Range(0, 12_345).Select(Row).ToList(); // more than two copy pages
        using (var store = new SqliteLedgerStore(Path.Combine(_data, "sanjia.db")))
        {
            await store.AppendAsync(ledger, CancellationToken.None);
        }
        var team = new Team { Id = "team_1", Name = "Research", Budget = new Budget(50m, "USD", BudgetPeriod.Monthly), CreatedAt = T0 };
        var key = new VirtualKey
        {
            Id = "key_1", Name = "notebook", SecretHash = "ab12", Prefix = "sk-sj-ab", TeamId = "team_1", AllowedModels = ["chat"],
            Budget = new Budget(5m, "USD", BudgetPeriod.Daily), RpmLimit = 60, CreatedAt = T0, Scopes = [KeyScopes.AdminRead],
        };
        using (var keys = new SqliteKeyStore(Path.Combine(_data, "sanjia.db")))
        {
            await keys.UpsertTeamAsync(team, CancellationToken.None);
            await keys.UpsertKeyAsync(key, CancellationToken.None);
        }
        using (var prompts = new SqlitePromptStore(Path.Combine(_data, "prompts.db")))
        {
            var v = new PromptVersion { Messages = [new PromptMessage("user", "Summarise {{text}}")], CreatedAt = T0 };
            await prompts.CreateAsync("summary", "Summaries", v, CancellationToken.None);
            await prompts.AddVersionAsync("summary", v with { Note = "shorter", Messages = [new PromptMessage("user", "Briefly: {{text}}")] }, CancellationToken.None);
        }
        using (var shadow = new SqliteShadowStore(Path.Combine(_data, "traffic.db")))
        {
            foreach (var i in Enumerable.Range(0, 3))
            {
                await shadow.SaveAsync(new ShadowPair { RequestId = $"req-{i:D5}", Alias = "chat", Candidate = "local/qwen", Timestamp = T0.AddSeconds(i), Score = 0.5 }, CancellationToken.None);
            }
        }
        using (var bodies = new SqliteBodyLogStore(Path.Combine(_data, "traffic.db")))
        {
            await bodies.WriteAsync([new LoggedExchange { RequestId = "req-00000", Timestamp = T0, Model = "chat", Endpoint = "/v1/chat/completions", RequestBody = "{}", ResponseText = "hi", Cost = 0.5m, Currency = "USD" }], CancellationToken.None);
        }
        using (var evaluations = new Sanjia.Evaluation.Storage.SqliteEvaluationStore(Path.Combine(_data, "evaluations.db")))
        {
            await evaluations.SaveRunAsync(new Sanjia.Evaluation.Running.RunRecord("run-1", "faq", "fp", ["chat", "local/qwen"], "completed", T0), CancellationToken.None);
            foreach (var (c, m) in new[] { ("c1", "chat"), ("c1", "local/qwen"), ("c2", "chat") })
            {
                await evaluations.SaveResultAsync("run-1", new Sanjia.Evaluation.Running.CellResult { CaseId = c, Model = m, Score = 0.5, Output = "答", Cost = 0.25m, Currency = "USD" }, CancellationToken.None);
            }
        }
        return (ledger, key, team);
    }

    [SkippableFact]
    public async Task Copies_every_store_into_postgresql_and_a_second_run_copies_nothing_twice()
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.False(PostgresServer.RequiredByCi, $"CI is set, so PostgreSQL is required: {reason}");
            Skip.If(true, reason);
        }
        var connection = await (await PostgresServer.GetAsync()).CreateDatabaseAsync($"sanjia_copy_{Guid.NewGuid():N}");
        var (ledger, key, team) = await FillSqliteAsync();

        for (var run = 0; run < 2; run++)
        {
            var output = new StringWriter();
            var error = new StringWriter();
            Assert.Equal(0, await SanjiaCli.RunCommandAsync(["db", "copy", "--data", _data, "--to", connection], output, error, CancellationToken.None));
            Assert.Equal("", error.ToString());
            Assert.Contains("ledger: 12345 rows read; the database now holds 12345", output.ToString(), StringComparison.Ordinal);
            Assert.Contains(run == 0 ? "prompts: 1 copied, 0 already there" : "prompts: 0 copied, 1 already there", output.ToString(), StringComparison.Ordinal);
            Assert.Contains("compare runs: 1, cells: 3", output.ToString(), StringComparison.Ordinal);
            Assert.Contains(run == 0 ? "shadow pairs: 3" : "shadow pairs: the database has some already; 3 not copied again", output.ToString(), StringComparison.Ordinal);
        }

        await using var db = await PostgresDatabase.OpenAsync(connection, CancellationToken.None);
        Assert.Equal(ledger, await new PostgresLedgerStore(db).ReadAsync(DateTimeOffset.MinValue, 100_000, CancellationToken.None));
        Assert.Equal(ledger.Where(e => e.KeyId == "key_1").Sum(e => e.Cost!.Value),
            await new PostgresLedgerStore(db).SpentSinceAsync("key", "key_1", "USD", DateTimeOffset.MinValue, CancellationToken.None));
        var keys = new PostgresKeyStore(db);
        var copiedKey = Assert.Single(await keys.ListKeysAsync(CancellationToken.None));
        Assert.Equal((key.Name, key.TeamId, key.Budget, key.RpmLimit, key.CreatedAt), (copiedKey.Name, copiedKey.TeamId, copiedKey.Budget, copiedKey.RpmLimit, copiedKey.CreatedAt));
        Assert.Equal(key.Scopes, copiedKey.Scopes);
        Assert.Equal(team.Budget, Assert.Single(await keys.ListTeamsAsync(CancellationToken.None)).Budget);
        var prompt = Assert.Single(await new PostgresPromptStore(db).ListAsync(CancellationToken.None));
        Assert.Equal(("summary", "Summaries", 2, "shorter"), (prompt.Id, prompt.Description, prompt.Versions.Count, prompt.Latest.Note));
        Assert.Equal(3, (await new PostgresShadowStore(db).ReadAsync("chat", null, 100, CancellationToken.None)).Count);
        var body = Assert.Single(await new PostgresBodyLogStore(db).ReadAsync(new BodyLogQuery(null, null, null, null), CancellationToken.None));
        Assert.Equal(("hi", 0.5m), (body.ResponseText, body.Cost));
        var evaluations = new PostgresEvaluationStore(db);
        var copiedRun = Assert.Single(await evaluations.ListRunsAsync(CancellationToken.None));
        Assert.Equal(("run-1", "completed", T0), (copiedRun.RunId, copiedRun.Status, copiedRun.CreatedAt));
        var cells = await evaluations.GetResultsAsync("run-1", CancellationToken.None);
        Assert.Equal([("c1", "chat"), ("c1", "local/qwen"), ("c2", "chat")], cells.Select(c => (c.CaseId, c.Model)));
        Assert.All(cells, c => Assert.Equal(("答", 0.25m), (c.Output, c.Cost)));
    }

    [Fact]
    public async Task Usage_errors_name_what_is_missing_or_misspelt()
    {
        async Task<(int? Code, string Error)> Run(params string[] args)
        {
            var error = new StringWriter();
            var code = await SanjiaCli.RunCommandAsync(args, new StringWriter(), error, CancellationToken.None);
            return (code, error.ToString());
        }
        var typo = await Run("db", "cpy");
        Assert.Equal((2, "sanjia db: unknown subcommand 'cpy'. Did you mean 'copy'?"), (typo.Code, typo.Error.Split('\n')[0].TrimEnd()));
        Assert.Equal(2, (await Run("db", "copy", "--data", _data)).Code);
        Assert.Contains("unknown option '--too'. Did you mean '--to'?", (await Run("db", "copy", "--too", "Host=x")).Error, StringComparison.Ordinal);
        var missing = await Run("db", "copy", "--data", Path.Combine(_data, "nope"), "--to", "Host=127.0.0.1");
        Assert.Equal(1, missing.Code);
        Assert.Contains("does not exist", missing.Error, StringComparison.Ordinal);
    }
}
