using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sanjia.Core.Guardrails;

/// <summary>
/// <c>secret.openai_key</c>: <c>sk-</c> style keys (OpenAI's <c>sk-</c>, <c>sk-proj-</c>, <c>sk-svcacct-</c>,
/// <c>sk-admin-</c>; Anthropic's <c>sk-ant-api03-</c>) whose random part is at least 20 characters and mixes upper
/// case, lower case and digits, as random keys do: <c>risk-manager-queue-worker</c> and <c>sk-your-api-key-here</c> do not.
/// </summary>
internal sealed partial class OpenAiKeyDetector() : RegexDetector(RuleIds.OpenAiKey, Pattern())
{
    [GeneratedRegex(@"(?<![A-Za-z0-9_\-])sk-(?:proj-|svcacct-|admin-|ant-api[0-9][0-9]-|ant-admin[0-9][0-9]-)?(?<r>[A-Za-z0-9_\-]{20,})", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    protected override bool Accept(ReadOnlySpan<char> match) => LooksRandom(match[3..]);

    private static readonly SearchValues<string> Prefix = SearchValues.Create(["sk-"], StringComparison.Ordinal);
    private static readonly SearchValues<char> KeyChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    protected override SearchValues<string> Anchors => Prefix;

    /// <summary>A key has no fixed length: the window runs to the end of the run of key characters.</summary>
    protected override int WindowEnd(ReadOnlySpan<char> text, int at)
    {
        var run = text[at..].IndexOfAnyExcept(KeyChars);
        return run < 0 ? text.Length : at + run + 1;
    }

    internal static bool LooksRandom(ReadOnlySpan<char> s) =>
        s.IndexOfAnyInRange('A', 'Z') >= 0 && s.IndexOfAnyInRange('a', 'z') >= 0 && s.IndexOfAnyInRange('0', '9') >= 0;
}

/// <summary>
/// <c>secret.aws_access_key</c>: AWS access key ids (<c>AKIA</c> long-term, <c>ASIA</c> temporary, and the other
/// unique-id prefixes) of exactly 20 upper-case characters with at least one letter after the prefix; the
/// documentation's <c>...EXAMPLE</c> keys and runs of one character are placeholders.
/// </summary>
internal sealed partial class AwsAccessKeyDetector() : RegexDetector(RuleIds.AwsAccessKey, Pattern())
{
    [GeneratedRegex(@"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AGPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    private static readonly SearchValues<string> Prefixes = SearchValues.Create(
        ["AKIA", "ASIA", "ABIA", "ACCA", "AIDA", "AROA", "AGPA", "ANPA", "ANVA", "APKA"], StringComparison.Ordinal);

    protected override SearchValues<string> Anchors => Prefixes;

    protected override int WindowEnd(ReadOnlySpan<char> text, int at) => Math.Min(text.Length, at + 21);

    protected override bool Accept(ReadOnlySpan<char> match)
    {
        var r = match[4..];
        return r.IndexOfAnyInRange('A', 'Z') >= 0 && !r.EndsWith("EXAMPLE", StringComparison.Ordinal) && r.IndexOfAnyExcept(r[0]) >= 0;
    }
}

/// <summary>
/// <c>secret.github_token</c>: GitHub's tokens since 2021: <c>ghp_</c>/<c>gho_</c>/<c>ghu_</c>/<c>ghs_</c>/<c>ghr_</c>
/// + 30 random characters + the base-62 CRC32 of those 30 in the last six (checked: a placeholder or a typo fails it),
/// and fine-grained <c>github_pat_</c> tokens (22 + 59 characters, no public checksum).
/// </summary>
internal sealed partial class GitHubTokenDetector() : RegexDetector(RuleIds.GitHubToken, Pattern())
{
    [GeneratedRegex(@"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    private static readonly SearchValues<string> Prefixes = SearchValues.Create(["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"], StringComparison.Ordinal);

    protected override SearchValues<string> Anchors => Prefixes;

    /// <summary>The longest token, <c>github_pat_</c> + 22 + <c>_</c> + 59, is 93 characters.</summary>
    protected override int WindowEnd(ReadOnlySpan<char> text, int at) => Math.Min(text.Length, at + 94);

    protected override bool Accept(ReadOnlySpan<char> v) =>
        v[2] == 't' ? OpenAiKeyDetector.LooksRandom(v[11..]) : Checksums.IsBase62Of(v.Slice(34, 6), Checksums.Crc32(v.Slice(4, 30)));
}

/// <summary>
/// <c>secret.jwt</c>: signed JSON Web Tokens, three base64url parts whose first two are JSON objects (so start with
/// <c>eyJ</c>) and whose header decodes to JSON with an <c>alg</c> member.
/// </summary>
internal sealed partial class JwtDetector() : RegexDetector(RuleIds.Jwt, Pattern())
{
    [GeneratedRegex(@"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{16,}(?![A-Za-z0-9_\-])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    protected override bool Accept(ReadOnlySpan<char> match) => HeaderHasAlg(match[..match.IndexOf('.')]);

    protected override bool MayMatch(ReadOnlySpan<char> text) => text.IndexOf("eyJ", StringComparison.Ordinal) >= 0;

    private static bool HeaderHasAlg(ReadOnlySpan<char> header)
    {
        if (header.Length > 512) return false;
        Span<byte> json = stackalloc byte[Base64Url.GetMaxDecodedLength(header.Length)];
        if (Base64Url.DecodeFromChars(header, json, out _, out var written) != System.Buffers.OperationStatus.Done) return false;
        try
        {
            var reader = new Utf8JsonReader(json[..written]);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("alg"u8)) return true;
                reader.Read();
                reader.Skip();
            }
            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>
/// <c>secret.private_key</c>: a PEM private key block (PKCS#1 RSA, SEC1 EC, DSA, PKCS#8, encrypted PKCS#8, OpenSSH)
/// from BEGIN to its matching END with at least 64 characters of base64 between; public keys and certificates,
/// and prose that mentions the header, are not.
/// </summary>
internal sealed partial class PrivateKeyDetector() : RegexDetector(RuleIds.PrivateKey, Pattern())
{
    [GeneratedRegex(@"-----BEGIN (?<k>(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----[A-Za-z0-9+/=\s:,.\-]{64,16384}?-----END \k<k>-----", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    protected override bool MayMatch(ReadOnlySpan<char> text) => text.IndexOf("-----BEGIN ", StringComparison.Ordinal) >= 0;
}
