using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace Sanjia.Api.Compare;

/// <summary>
/// How the gateway knows a request is its own comparison traffic (<c>POST /admin/compare</c>): the runner sends
/// <see cref="Header"/> with a random secret made at start-up that never leaves the process. Requests carrying it are
/// isolated from production health (the router neither reads nor writes breaker state for them; budgets still apply).
/// Anyone can send the header, but only the gateway knows the value: a header without it is ignored.
/// </summary>
public sealed class EvaluationCallers
{
    public const string Header = "x-sanjia-evaluation";

    private readonly byte[] _secret = Encoding.ASCII.GetBytes(Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));

    /// <summary>The value the gateway's own runner sends.</summary>
    public string Token => Encoding.ASCII.GetString(_secret);

    /// <summary>Constant-time comparison with the secret.</summary>
    public bool Matches(StringValues value) =>
        value.Count == 1 && value[0] is { Length: 64 } v && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(v), _secret);
}
