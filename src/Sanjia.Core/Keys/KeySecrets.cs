using System.Security.Cryptography;
using System.Text;

namespace Sanjia.Core.Keys;

/// <summary>
/// Virtual key secrets: 32 random bytes (256 bits), so a plain SHA-256 is a safe stored form (no dictionary to
/// attack; a slow hash would only slow every request down).
/// </summary>
public static class KeySecrets
{
    public const string Prefix = "sk-sj-";

    public static string NewSecret() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string NewId(string kind) => kind + "_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    public static string Hash(ReadOnlySpan<char> secret)
    {
        Span<byte> utf8 = secret.Length <= 256 ? stackalloc byte[secret.Length * 3] : new byte[secret.Length * 3];
        var n = Encoding.UTF8.GetBytes(secret, utf8);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(utf8[..n], digest);
        return Convert.ToHexStringLower(digest);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
