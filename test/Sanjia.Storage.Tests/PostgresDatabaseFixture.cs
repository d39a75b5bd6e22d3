using Npgsql;
using Sanjia.Testing.Postgres;

namespace Sanjia.Storage.Tests;

/// <summary>A fresh database on the shared server for one test class; tests get fresh schemas inside it.</summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private static int _counter;
    private string? _connectionString;
    private int _schemas;

    public async Task InitializeAsync()
    {
        if (PostgresServer.Unavailable is not null) return;
        var server = await PostgresServer.GetAsync();
        _connectionString = await server.CreateDatabaseAsync($"sanjia_test_{Environment.ProcessId}_{Interlocked.Increment(ref _counter)}");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>
    /// A connection string whose search path is a new, empty schema of this class's database (each test's own tables,
    /// migrated from nothing). Skips when PostgreSQL is not installed, unless <c>CI</c> is set: then it fails.
    /// </summary>
    public async Task<string> NewSchemaAsync()
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.False(PostgresServer.RequiredByCi, $"CI is set, so PostgreSQL is required: {reason}");
            Skip.If(true, reason);
        }
        var schema = $"t{Interlocked.Increment(ref _schemas)}";
        await using (var ds = NpgsqlDataSource.Create(_connectionString!))
        await using (var cmd = ds.CreateCommand($"CREATE SCHEMA {schema}"))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(_connectionString) { SearchPath = schema }.ToString();
    }
}
