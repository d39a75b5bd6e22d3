using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Security;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Who may read <c>/metrics</c> (<see cref="RouteAccess.Metrics"/>): a scraper from a network in
/// <c>Sanjia:Metrics:AllowedNetworks</c> without a key, otherwise the metrics token (<c>Sanjia:Metrics:Token</c>, which
/// opens nothing else) or the master key. Metrics carry key and team ids, deployments and spend: not for every key.
/// </summary>
public sealed class MetricsAccess
{
    public const string Route = "/metrics";

    private readonly byte[]? _token;
    private readonly IReadOnlyList<IPNetwork> _networks;

    public MetricsAccess(MetricsOptions options)
    {
        _token = string.IsNullOrEmpty(options.Token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.Token));
        _networks = [.. options.AllowedNetworks.Select(n => TryParse(n, out var net) ? net : throw new ArgumentException($"Not a network: {n}"))];
    }

    /// <summary>Reports each entry of <c>Sanjia:Metrics:AllowedNetworks</c> that is not a CIDR range or an address.</summary>
    public static void Validate(MetricsOptions options, ConfigErrors errors)
    {
        for (var i = 0; i < options.AllowedNetworks.Count; i++)
        {
            if (!TryParse(options.AllowedNetworks[i], out _))
            {
                errors.Add($"{SanjiaOptions.Section}:Metrics:AllowedNetworks:{i}", $"'{options.AllowedNetworks[i]}' is not a network: write it as CIDR (10.0.0.0/8, fd00::/8) or an address.");
            }
        }
        if (options.MaxKeyLabels < 1)
        {
            errors.Add($"{SanjiaOptions.Section}:Metrics:MaxKeyLabels", "must be at least 1.");
        }
    }

    private static bool TryParse(string text, out IPNetwork network)
    {
        if (IPNetwork.TryParse(text, out network)) return true;
        if (IPAddress.TryParse(text, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }
        return false;
    }

    /// <summary>Null when the request may read the metrics, else the refusal to write.</summary>
    public GatewayError? Refusal(HttpContext context, ReadOnlySpan<char> key, MasterKey masterKey)
    {
        if (_networks.Count > 0 && context.Connection.RemoteIpAddress is { } remote)
        {
            var address = remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote;
            foreach (var network in _networks)
            {
                if (network.Contains(address)) return null;
            }
        }
        if (key.IsEmpty)
        {
            return new GatewayError(GatewayErrorKind.Authentication,
                "The metrics endpoint needs the metrics token (Sanjia:Metrics:Token) or the master key, as 'Authorization: Bearer TOKEN'.") { Code = "missing_api_key" };
        }
        if (MatchesToken(key) || (masterKey.Matches(key) && !masterKey.IsWeak))
        {
            return null;
        }
        return new GatewayError(GatewayErrorKind.Authentication,
            "The metrics endpoint takes only the metrics token (Sanjia:Metrics:Token) or the master key.") { Code = "invalid_api_key" };
    }

    private bool MatchesToken(ReadOnlySpan<char> key)
    {
        if (_token is null) return false;
        Span<byte> utf8 = key.Length <= 256 ? stackalloc byte[key.Length * 3] : new byte[key.Length * 3];
        var n = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(utf8[..n], digest);
        return CryptographicOperations.FixedTimeEquals(digest, _token);
    }
}
