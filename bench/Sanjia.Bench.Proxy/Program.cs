using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// The bare .NET pass-through proxy: the floor under the gateway in the load run. Kestrel in, SocketsHttpHandler out,
// the bodies copied through unread, nothing else (no authentication, parsing, routing, metering or headers of its
// own), with the gateway's runtime and Kestrel settings. What the gateway costs above this is what its features
// cost; what this costs above nginx is the platform's own price.
//   dotnet Sanjia.Bench.Proxy.dll --listen 18300=http://127.0.0.1:18201 [--listen PORT=URL ...]
// As the gateway does (src/Sanjia/Program.cs): socket completions on the epoll thread, set before any socket exists.
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
var routes = new Dictionary<int, string>();
for (var i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] != "--listen" || args[i + 1].Split('=', 2) is not [var port, var url])
    {
        Console.Error.WriteLine($"usage: --listen PORT=URL (got {args[i]} {args[i + 1]})");
        return 2;
    }
    routes[int.Parse(port, CultureInfo.InvariantCulture)] = url.TrimEnd('/');
}
if (routes.Count == 0)
{
    Console.Error.WriteLine("usage: --listen PORT=URL [--listen PORT=URL ...]");
    return 2;
}

var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = args });
builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    foreach (var port in routes.Keys)
    {
        k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http1);
    }
});
builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
var app = builder.Build();
using var client = new HttpClient(new SocketsHttpHandler
{
    UseProxy = false,
    UseCookies = false,
    AllowAutoRedirect = false,
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
})
{ Timeout = Timeout.InfiniteTimeSpan };

app.Run(async http =>
{
    var request = http.Request;
    using var upstream = new HttpRequestMessage(new HttpMethod(request.Method), routes[http.Connection.LocalPort] + request.Path + request.QueryString)
    {
        Content = new StreamContent(request.Body),
    };
    upstream.Content.Headers.ContentLength = request.ContentLength;
    if (request.ContentType is { } contentType) upstream.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
    upstream.Headers.TryAddWithoutValidation("Authorization", request.Headers.Authorization.ToString());
    using var answer = await client.SendAsync(upstream, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
    var response = http.Response;
    response.StatusCode = (int)answer.StatusCode;
    response.ContentType = answer.Content.Headers.ContentType?.ToString();
    response.ContentLength = answer.Content.Headers.ContentLength;
    await using var body = await answer.Content.ReadAsStreamAsync(http.RequestAborted);
    await body.CopyToAsync(response.Body, http.RequestAborted); // each read is written (and sent) as it arrives
});
app.Run();
return 0;
