using System.Security.Cryptography;
using System.Text;

namespace Sanjia.Core.Security;

/// <summary>
/// The master key: from configuration, else generated once and kept in <c>DataDir/master.key</c> readable by the
/// owner only. Comparison is on SHA-256 digests in constant time, so neither length nor prefix leaks.
/// </summary>
public sealed class MasterKey
{
    public const string FileName = "master.key";
    private readonly byte[] _digest;

    private MasterKey(string value, string source, bool generated)
    {
        Value = value;
        Source = source;
        Generated = generated;
        _digest = SHA256.HashData(Encoding.UTF8.GetBytes(value));
    }

    public string Value { get; }

    /// <summary>Where the key comes from, for the start-up banner (never the key itself).</summary>
    public string Source { get; }

    /// <summary>True on the start that created the key file: the only time the key is printed.</summary>
    public bool Generated { get; }

    public static MasterKey Load(string? configured, string dataDir)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            return new MasterKey(configured, "configuration (Sanjia:MasterKey)", generated: false);
        }
        Directory.CreateDirectory(dataDir);
        var path = Path.GetFullPath(Path.Combine(dataDir, FileName));
        if (File.Exists(path))
        {
            return new MasterKey(File.ReadAllText(path).Trim(), path, generated: false);
        }
        var key = "sk-sanjia-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(key);
        }
        return new MasterKey(key, path, generated: true);
    }

    /// <summary>Well-known defaults from documentation and sample configs: never good enough to administer keys.</summary>
    private static readonly string[] KnownDefaults =
    [
        "sk-1234", "sk-12345678", "sk-1234567890", "sk-1234567890abcdef", "sk-1234567890abcdefgh", "changeme", "change-me", "changeit",
        "password", "master-key", "masterkey", "sk-master-key", "admin", "secret", "sanjia", "sk-sanjia",
    ];

    /// <summary>
    /// True when the key is empty, a known default, or has too little variety to be a real secret; the admin API
    /// refuses to run with such a key (a generated key is never weak).
    /// </summary>
    public bool IsWeak
    {
        get
        {
            var v = Value.Trim();
            if (v.Length < 16) return true;
            foreach (var d in KnownDefaults)
            {
                if (v.Equals(d, StringComparison.OrdinalIgnoreCase)) return true;
            }
            return v.Distinct().Count() < 8;
        }
    }

    public bool Matches(ReadOnlySpan<char> candidate)
    {
        Span<byte> utf8 = candidate.Length <= 256 ? stackalloc byte[candidate.Length * 3] : new byte[candidate.Length * 3];
        var n = Encoding.UTF8.GetBytes(candidate, utf8);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(utf8[..n], digest);
        return CryptographicOperations.FixedTimeEquals(digest, _digest);
    }
}
