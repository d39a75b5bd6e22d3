namespace Sanjia.Storage.Tests;

/// <summary>A temporary folder for one test's SQLite files, removed (pools cleared first) at the end.</summary>
public sealed class SqliteFolder : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-store-").FullName;

    public string File(string name) => Path.Combine(_dir, name);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
