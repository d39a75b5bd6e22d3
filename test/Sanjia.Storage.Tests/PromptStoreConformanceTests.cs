using System.Text.Json.Nodes;
using Sanjia.Core.Prompts;

namespace Sanjia.Storage.Tests;

/// <summary>What every prompt store must do: versions append-only and numbered in order, ids case-insensitive.</summary>
public abstract class PromptStoreConformanceTests : IAsyncLifetime
{
    protected abstract Task<IPromptStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public abstract Task DisposeAsync();

    private static readonly DateTimeOffset Created = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private static PromptVersion V(string text, string? note = null) => new()
    {
        Messages = [new PromptMessage("system", "You answer in {{language}}."), new PromptMessage("user", text)],
        Variants = new Dictionary<string, IReadOnlyList<PromptMessage>> { ["local/qwen"] = [new PromptMessage("user", "/no_think " + text)] },
        Model = "fast",
        Defaults = new JsonObject { ["max_tokens"] = 256, ["temperature"] = 0.2 },
        Note = note,
        CreatedAt = Created,
    };

    [SkippableFact]
    public async Task A_prompt_is_created_once_and_its_versions_are_numbered_in_order()
    {
        var store = await OpenAsync();
        Assert.True(await store.CreateAsync("Summary", "Summarise a text", V("{{text}}"), CancellationToken.None));
        Assert.False(await store.CreateAsync("summary", "taken, in another case", V("x"), CancellationToken.None));
        Assert.Equal(2, (await store.AddVersionAsync("SUMMARY", V("Briefly: {{text}}", "shorter") with { Version = 99 }, CancellationToken.None))!.Version);
        Assert.Equal(3, (await store.AddVersionAsync("Summary", V("In one line: {{text}}"), CancellationToken.None))!.Version);
        Assert.Null(await store.AddVersionAsync("missing", V("x"), CancellationToken.None));

        var prompt = await store.GetAsync("summary", CancellationToken.None);
        Assert.NotNull(prompt);
        Assert.Equal(("Summary", "Summarise a text", Created), (prompt.Id, prompt.Description, prompt.CreatedAt));
        Assert.Equal([1, 2, 3], prompt.Versions.Select(v => v.Version));
        var second = prompt.Find(2)!;
        Assert.Equal(V("Briefly: {{text}}").Messages, second.Messages);
        Assert.Equal(("fast", "shorter", Created), (second.Model, second.Note, second.CreatedAt));
        Assert.Equal("""{"max_tokens":256,"temperature":0.2}""", second.Defaults!.ToJsonString());
        Assert.Equal([new PromptMessage("user", "/no_think Briefly: {{text}}")], second.Variants["LOCAL/QWEN"]); // variant keys case-insensitive
        Assert.Null(await store.GetAsync("missing", CancellationToken.None));
    }

    [SkippableFact]
    public async Task Prompts_are_listed_by_id_whatever_its_case()
    {
        var store = await OpenAsync();
        foreach (var id in new[] { "beta", "Alpha", "gamma" }) await store.CreateAsync(id, null, V(id), CancellationToken.None);
        var list = await store.ListAsync(CancellationToken.None);
        Assert.Equal(["Alpha", "beta", "gamma"], list.Select(p => p.Id));
        Assert.All(list, p => Assert.Null(p.Description));
    }

    [SkippableFact]
    public async Task Versions_added_at_once_get_distinct_numbers()
    {
        var store = await OpenAsync();
        await store.CreateAsync("p", null, V("v1"), CancellationToken.None);
        var added = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => store.AddVersionAsync("p", V($"v{i}"), CancellationToken.None)));
        Assert.Equal(Enumerable.Range(2, 8), added.Select(v => v!.Version).Order());
        Assert.Equal(Enumerable.Range(1, 9), (await store.GetAsync("p", CancellationToken.None))!.Versions.Select(v => v.Version));
    }
}

public sealed class SqlitePromptStoreConformanceTests : PromptStoreConformanceTests
{
    private readonly SqliteBackend _backend = new();

    protected override Task<IPromptStore> OpenAsync() => Task.FromResult<IPromptStore>(_backend.Open(p => new Sqlite.SqlitePromptStore(p), "prompts.db"));

    public override Task DisposeAsync()
    {
        _backend.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresPromptStoreConformanceTests(PostgresDatabaseFixture db) : PromptStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<IPromptStore> OpenAsync() => new Postgres.PostgresPromptStore(await _backend.DatabaseAsync());

    public override Task DisposeAsync() => _backend.DisposeAsync().AsTask();
}
