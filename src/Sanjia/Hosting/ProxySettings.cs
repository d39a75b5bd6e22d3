using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Sanjia.Core.Configuration;

namespace Sanjia.Hosting;

/// <summary><c>Sanjia:ForwardedHeaders</c> as ASP.NET Core's forwarded-headers middleware takes it.</summary>
internal static class ProxySettings
{
    public static ForwardedHeadersOptions For(ForwardedHeadersSettings settings)
    {
        var result = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost,
            ForwardLimit = settings.ForwardLimit,
        };
        // With no proxy listed, loopback is trusted (the middleware's default: a proxy on the same machine). Listing
        // proxies or networks replaces that: only what is listed is trusted.
        if (settings.KnownProxies.Count + settings.KnownNetworks.Count > 0)
        {
            result.KnownProxies.Clear();
            result.KnownIPNetworks.Clear();
        }
        foreach (var proxy in settings.KnownProxies)
        {
            result.KnownProxies.Add(IPAddress.Parse(proxy));
        }
        foreach (var network in settings.KnownNetworks)
        {
            result.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
        }
        return result;
    }
}
