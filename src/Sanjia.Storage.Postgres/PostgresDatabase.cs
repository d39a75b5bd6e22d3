using Npgsql;

namespace Sanjia.Storage.Postgres;

/// <summary>
/// The gateway's PostgreSQL database: one pooled <see cref="NpgsqlDataSource"/> shared by every store, and the
/// versioned schema migrations (docs/decisions/0005-schema-migrations.md), applied by <see cref="MigrateAsync"/>
/// before any store is used. Several instances may start at once: the migrations run under a session advisory lock,
/// so the first applies them and the others wait, then find them recorded in <c>schema_migrations</c>.
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable, IDisposable
{
    /// <summary>The advisory lock key of schema changes: "SANJIA" in ASCII, so it is recognisable in pg_locks.</summary>
    public const long MigrationLockKey = 0x53414E4A4941;

    public PostgresDatabase(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        DataSource = NpgsqlDataSource.Create(connectionString);
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>The schema versions this build knows, in order; a version once released never changes (add a new one).</summary>
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "ledger, keys and teams", """
            CREATE TABLE ledger (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                request_id text NOT NULL,
                attempt integer NOT NULL,
                ts timestamptz NOT NULL,
                key_id text, team_id text,
                endpoint text NOT NULL,
                model text NOT NULL,
                deployment text, provider text,
                input_tokens integer NOT NULL, cached_input_tokens integer NOT NULL,
                output_tokens integer NOT NULL, reasoning_tokens integer NOT NULL,
                estimated boolean NOT NULL,
                status integer NOT NULL, error_code text,
                latency_ms double precision NOT NULL, ttft_ms double precision,
                stream boolean NOT NULL,
                cost numeric, currency text,
                CONSTRAINT ux_ledger_request_attempt UNIQUE (request_id, attempt, endpoint));
            CREATE INDEX ix_ledger_ts ON ledger (ts);
            CREATE INDEX ix_ledger_key_spend ON ledger (key_id, ts) WHERE key_id IS NOT NULL;
            CREATE INDEX ix_ledger_team_spend ON ledger (team_id, ts) WHERE team_id IS NOT NULL;
            CREATE TABLE virtual_keys (
                id text PRIMARY KEY,
                secret_hash text NOT NULL UNIQUE,
                team_id text,
                revoked boolean NOT NULL,
                expires_at timestamptz,
                record jsonb NOT NULL);
            CREATE TABLE teams (id text PRIMARY KEY, record jsonb NOT NULL);
            """),
        new(2, "prompts, shadow pairs and the body log", """
            CREATE TABLE prompts (
                id text PRIMARY KEY,
                description text,
                created timestamptz NOT NULL);
            CREATE UNIQUE INDEX ux_prompts_id_ci ON prompts (lower(id));
            CREATE TABLE prompt_versions (
                prompt_id text NOT NULL REFERENCES prompts (id),
                version integer NOT NULL,
                body jsonb NOT NULL,
                PRIMARY KEY (prompt_id, version));
            CREATE TABLE shadow_pairs (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                alias text NOT NULL,
                request_id text NOT NULL,
                ts timestamptz NOT NULL,
                score double precision,
                pair jsonb NOT NULL);
            CREATE INDEX ix_shadow_pairs_alias_ts ON shadow_pairs (lower(alias), ts);
            CREATE TABLE body_log (
                request_id text PRIMARY KEY,
                ts timestamptz NOT NULL,
                model text NOT NULL,
                key_id text,
                deployment text,
                endpoint text NOT NULL,
                request text NOT NULL,
                response text NOT NULL,
                input_tokens integer NOT NULL,
                output_tokens integer NOT NULL,
                latency_ms double precision NOT NULL,
                cost numeric,
                currency text);
            CREATE INDEX ix_body_log_model_ts ON body_log (lower(model), ts);
            """),
        new(3, "compare runs", """
            CREATE TABLE eval_runs (
                run_id text PRIMARY KEY,
                suite_name text NOT NULL,
                suite_fingerprint text NOT NULL,
                models jsonb NOT NULL,
                status text NOT NULL,
                created timestamptz NOT NULL);
            CREATE TABLE eval_cells (
                id bigint GENERATED ALWAYS AS IDENTITY,
                run_id text NOT NULL,
                case_id text NOT NULL,
                model text NOT NULL,
                sample integer NOT NULL,
                score double precision NOT NULL,
                failed boolean NOT NULL,
                result jsonb NOT NULL,
                PRIMARY KEY (run_id, case_id, model, sample));
            """),
        new(4, "audit log", PostgresAuditStore.Schema),
        new(5, "vendor cache writes and response cache hits in the ledger", """
            ALTER TABLE ledger ADD COLUMN cache_write_tokens integer NOT NULL DEFAULT 0;
            ALTER TABLE ledger ADD COLUMN cache_of text;
            ALTER TABLE ledger ADD COLUMN cost_saved numeric;
            """),
        new(6, "guardrail decisions and image counts in the ledger", """
            ALTER TABLE ledger ADD COLUMN guardrails text;
            ALTER TABLE ledger ADD COLUMN images integer;
            """),
        new(7, "budget alerts", PostgresAlertStore.Schema),
        new(8, "evaluation traffic marked in the ledger", "ALTER TABLE ledger ADD COLUMN evaluation boolean NOT NULL DEFAULT false;"),
    ];

    /// <summary>Opens the database and brings its schema to this build's version (see <see cref="MigrateAsync"/>).</summary>
    public static async Task<PostgresDatabase> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var db = new PostgresDatabase(connectionString);
        try
        {
            await db.MigrateAsync(cancellationToken).ConfigureAwait(false);
            return db;
        }
        catch
        {
            await db.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Applies the migrations not yet recorded in <c>schema_migrations</c>, each in its own transaction together with
    /// its record, under <c>pg_advisory_lock</c> (session level: held across those transactions, released at the end or
    /// when the connection drops). Returns the versions this call applied. A database at a version newer than this
    /// build knows is refused: an older gateway must not write to a schema it does not understand.
    /// </summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({MigrationLockKey})", cancellationToken).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken).ConfigureAwait(false);
            var applied = new HashSet<int>();
            await using (var cmd = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
            await using (var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) applied.Add(r.GetInt32(0));
            }
            var latest = Migrations[^1].Version;
            if (applied.Count > 0 && applied.Max() > latest)
            {
                throw new InvalidOperationException(
                    $"The PostgreSQL database is at schema version {applied.Max()}, newer than this build knows ({latest}); run the newer sanjia, or a database of its own.");
            }
            var done = new List<int>();
            foreach (var m in Migrations)
            {
                if (applied.Contains(m.Version)) continue;
                await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, m.Sql, cancellationToken).ConfigureAwait(false);
                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection))
                {
                    record.Parameters.Add(new() { Value = m.Version });
                    record.Parameters.Add(new() { Value = m.Name });
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                done.Add(m.Version);
            }
            return done;
        }
        finally
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None).ConfigureAwait(false);
        }
    }

    internal static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A PostgreSQL timestamp: UTC (Npgsql refuses other offsets for <c>timestamptz</c>); microseconds are kept, finer ticks dropped.</summary>
    internal static DateTime Utc(DateTimeOffset t) => t.UtcDateTime;

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    public void Dispose() => DataSource.Dispose();
}

/// <summary>One schema version: applied once, in a transaction, and recorded in <c>schema_migrations</c>.</summary>
public sealed record Migration(int Version, string Name, string Sql);
