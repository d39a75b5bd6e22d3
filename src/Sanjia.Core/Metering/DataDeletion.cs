namespace Sanjia.Core.Metering;

/// <summary>Whose stored traffic a deletion is about: one virtual key, or one end user.</summary>
public readonly record struct DataSubject(DataSubjectKind Kind, string Id)
{
    public static DataSubject Key(string keyId) => new(DataSubjectKind.Key, keyId);

    /// <summary>
    /// The end-user id a caller sends with its requests: OpenAI's <c>user</c> (Chat Completions, Responses, Embeddings)
    /// or Anthropic's <c>metadata.user_id</c>.
    /// </summary>
    public static DataSubject EndUser(string user) => new(DataSubjectKind.EndUser, user);
}

public enum DataSubjectKind
{
    Key,
    EndUser,
}

/// <summary>
/// A store of traffic data that can forget: rows older than a time (the retention sweep, <see cref="RetentionSweep"/>)
/// and every row of one key or end user (an erasure request, <c>DELETE /admin/keys/{id}/data</c>, <c>sanjia db
/// delete</c>). Implemented by the ledger and body log stores of SQLite and PostgreSQL; deletes run in bounded batches,
/// so a large sweep never holds a long lock against the writers.
/// </summary>
public interface IDeletableTraffic
{
    /// <summary>The data's name in answers and logs: <c>ledger</c> or <c>body_log</c>.</summary>
    string DataName { get; }

    /// <summary>Deletes the rows timestamped before <paramref name="cutoff"/>; returns how many.</summary>
    Task<long> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>Deletes every row of <paramref name="subject"/>; returns how many (0 where the data does not record such a subject).</summary>
    Task<long> DeleteSubjectAsync(DataSubject subject, CancellationToken cancellationToken);
}
