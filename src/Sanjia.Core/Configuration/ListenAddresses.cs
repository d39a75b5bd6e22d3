using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
namespace Sanjia.Core.Configuration;

/// <summary>
/// The listen URLs (<c>Sanjia:Urls</c>, <c>--host</c>/<c>--port</c>): checked before Kestrel sees them, because Kestrel
/// binds any host name other than <c>localhost</c> (a typo such as <c>0.0.0.0.0</c> included) to every interface.
/// </summary>
public static partial class ListenAddresses
{
    public const string Path = SanjiaOptions.Section + ":Urls";

    /// <summary>Why <paramref name="host"/> cannot be listened on, or null: an IP address, <c>localhost</c>, or Kestrel's <c>*</c>/<c>+</c>.</summary>
    public static string? HostError(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (host is "localhost" or "*" or "+") return null;
        var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        var valid = bare.Contains(':', StringComparison.Ordinal)
            ? IPAddress.TryParse(bare, out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            : Ipv4().IsMatch(bare) && IPAddress.TryParse(bare, out _);
        return valid ? null
            : $"'{host}' is not an IP address. Use 127.0.0.1 (this machine only, the default), 0.0.0.0 (every IPv4 interface) or :: (every interface).";
    }

    /// <summary>The host as it is written in a URL (IPv6 in brackets).</summary>
    public static string UrlHost(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
    }

    /// <summary>Adds an error for each URL Kestrel would refuse or bind somewhere unintended.</summary>
    public static void Validate(string urls, ConfigErrors errors) => Validate(urls, hasCertificate: true, errors);

    /// <summary>As <see cref="Validate(string, ConfigErrors)"/>, and an https:// URL without a certificate is an error too.</summary>
    public static void Validate(string urls, bool hasCertificate, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var url in Split(urls))
        {
            var m = Url().Match(url);
            if (!m.Success)
            {
                errors.Add(Path, $"'{url}' is not an http:// or https:// URL with a host and a port, e.g. http://127.0.0.1:4000.");
                continue;
            }
            if (HostError(m.Groups["host"].Value) is { } hostError)
            {
                errors.Add(Path, $"{url}: {hostError}");
            }
            if (m.Groups["port"].Success && (!int.TryParse(m.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535))
            {
                errors.Add(Path, $"{url}: '{m.Groups["port"].Value}' is not a port number (0 to 65535).");
            }
            if (m.Groups["scheme"].Value.Equals("https", StringComparison.OrdinalIgnoreCase) && !hasCertificate)
            {
                errors.Add(Path, $"{url} needs a certificate: set Kestrel:Certificates:Default:Path (a .pfx with :Password, or a .pem with :KeyPath), or listen on http:// behind a TLS proxy (docs/deployment.md).");
            }
        }
    }

    /// <summary>The addresses reachable from other machines: wildcards and non-loopback IP addresses.</summary>
    public static IReadOnlyList<string> NetworkReachable(IEnumerable<string> urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        var result = new List<string>();
        foreach (var url in urls)
        {
            var m = Url().Match(url);
            if (!m.Success) continue;
            var host = m.Groups["host"].Value.Trim('[', ']');
            var loopback = host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
            if (!loopback) result.Add(url);
        }
        return result;
    }

    public static IEnumerable<string> Split(string urls) =>
        urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [GeneratedRegex(@"^\d{1,3}(\.\d{1,3}){3}$")]
    private static partial Regex Ipv4();

    [GeneratedRegex(@"^(?<scheme>https?)://(?<host>\[[^\]/]+\]|[^:/\[\]]+)(:(?<port>\d+))?/?$", RegexOptions.IgnoreCase)]
    private static partial Regex Url();
}
