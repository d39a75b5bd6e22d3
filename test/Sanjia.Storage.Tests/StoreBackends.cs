using Sanjia.Storage.Postgres;

namespace Sanjia.Storage.Tests;

/// <summary>Opens each store over SQLite (files in a temporary folder, as the gateway's data folder holds them).</summary>
public sealed class SqliteBackend : IDisposable
{
    private readonly SqliteFolder _folder = new();
    private readonly List<IDisposable> _opened = [];

    public T Open<T>(Func<string, T> create, string file) where T : IDisposable
    {
        var store = create(_folder.File(file));
        _opened.Add(store);
        return store;
    }

    public void Dispose()
    {
        foreach (var s in _opened) s.Dispose();
        _folder.Dispose();
    }
}

/// <summary>Opens each store over PostgreSQL: a fresh schema of the test class's database, migrated from nothing.</summary>
public sealed class PostgresBackend(PostgresDatabaseFixture fixture) : IAsyncDisposable
{
    private PostgresDatabase? _database;

    public async Task<PostgresDatabase> DatabaseAsync() =>
        _database ??= await PostgresDatabase.OpenAsync(await fixture.NewSchemaAsync(), CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        if (_database is not null) await _database.DisposeAsync();
    }
}
