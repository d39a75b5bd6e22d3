using Npgsql;
using Sanjia.Storage.Postgres;

namespace Sanjia.Storage.Tests;

/// <summary>The PostgreSQL schema migrations (docs/decisions/0005-schema-migrations.md) as instances starting together meet them.</summary>
public sealed class PostgresMigrationTests(PostgresDatabaseFixture db) : IClassFixture<PostgresDatabaseFixture>
{
    [SkippableFact]
    public async Task Three_instances_starting_at_once_apply_each_migration_exactly_once()
    {
        var connectionString = await db.NewSchemaAsync();
        var instances = new[] { new PostgresDatabase(connectionString), new PostgresDatabase(connectionString), new PostgresDatabase(connectionString) };
        try
        {
            // Threads of their own: three blocked on a barrier would wait for a busy thread pool to grow.
            using var start = new Barrier(3);
            var applied = await Task.WhenAll(instances.Select(i => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return i.MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));

            var all = PostgresDatabase.Migrations.Select(m => m.Version).ToList();
            Assert.Equal(all, applied.SelectMany(a => a).Order()); // each version applied by exactly one instance
            Assert.Single(applied, a => a.Count > 0); // the first to take the lock applied all; the others found them done
            Assert.Equal(all, await VersionsAsync(instances[0]));
            // And a later start finds nothing to do.
            Assert.Empty(await instances[1].MigrateAsync(CancellationToken.None));
        }
        finally
        {
            foreach (var i in instances) await i.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task A_database_newer_than_this_build_is_refused_and_left_alone()
    {
        await using var database = await PostgresDatabase.OpenAsync(await db.NewSchemaAsync(), CancellationToken.None);
        var next = PostgresDatabase.Migrations[^1].Version + 1;
        await using (var cmd = database.DataSource.CreateCommand($"INSERT INTO schema_migrations (version, name) VALUES ({next}, 'from the future')"))
        {
            await cmd.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => database.MigrateAsync(CancellationToken.None));
        Assert.Contains($"schema version {next}", error.Message, StringComparison.Ordinal);
        // The lock was released: another session can take it at once.
        await using var cmd2 = database.DataSource.CreateCommand($"SELECT pg_try_advisory_lock({PostgresDatabase.MigrationLockKey})");
        Assert.True((bool)(await cmd2.ExecuteScalarAsync())!);
    }

    [SkippableFact]
    public async Task A_failing_migration_leaves_no_trace_and_the_next_start_applies_it()
    {
        var connectionString = await db.NewSchemaAsync();
        await using var database = new PostgresDatabase(connectionString);
        // A table in the way of migration 1's first statement: its transaction rolls back whole, and nothing is recorded.
        await using (var cmd = database.DataSource.CreateCommand("CREATE TABLE ledger (x int)"))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        await Assert.ThrowsAsync<PostgresException>(() => database.MigrateAsync(CancellationToken.None));
        Assert.Empty(await VersionsAsync(database));
        await using (var cmd = database.DataSource.CreateCommand("SELECT to_regclass('virtual_keys') IS NULL"))
        {
            Assert.True((bool)(await cmd.ExecuteScalarAsync())!);
        }

        await using (var cmd = database.DataSource.CreateCommand("DROP TABLE ledger"))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        Assert.Equal(PostgresDatabase.Migrations.Select(m => m.Version), await database.MigrateAsync(CancellationToken.None));
    }

    private static async Task<List<int>> VersionsAsync(PostgresDatabase database)
    {
        await using var cmd = database.DataSource.CreateCommand("SELECT version FROM schema_migrations ORDER BY version");
        var list = new List<int>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) list.Add(r.GetInt32(0));
        return list;
    }
}
