namespace Sanjia.Core.Security;

/// <summary>
/// The gateway's databases hold key hashes, spend, prompts and request metadata: like <c>master.key</c>, they are
/// readable and writable by the gateway's user only (0600). SQLite creates a database, its <c>-wal</c> and its
/// <c>-shm</c> with 0644 less the umask, but gives the <c>-wal</c> and <c>-shm</c> the mode of the database file
/// itself; so the database is created here first with 0600, and files an older version left readable are tightened.
/// </summary>
public static class OwnerOnlyFiles
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OthersAny = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates the SQLite database file (empty, which SQLite takes as a new database) owner-only; returns the path.</summary>
    public static string Database(string path)
    {
        if (OperatingSystem.IsWindows() || path.Length == 0 || path == ":memory:" || path.StartsWith("file:", StringComparison.Ordinal))
        {
            return path;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using (new FileStream(path, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = OwnerReadWrite }))
        {
        }
        foreach (var file in (ReadOnlySpan<string>)[path, path + "-wal", path + "-shm", path + "-journal"])
        {
            if (File.Exists(file) && (File.GetUnixFileMode(file) & OthersAny) != 0)
            {
                File.SetUnixFileMode(file, OwnerReadWrite);
            }
        }
        return path;
    }
}
