using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sanjia.Tests.ModelDownloads;

/// <summary>
/// A real Kestrel server that answers like the Hugging Face hub for one file: <c>/{repo}/resolve/main/{file}</c>
/// answers HEAD and GET with a 302 to <c>/cdn/{sha256}</c> (or serves the bytes itself) carrying X-Linked-Etag and
/// X-Linked-Size; the content honours Range. It can cut or stall the first content GET. The tree API
/// (<c>/api/models/{repo}/tree/main?recursive=true</c>) lists that file and <see cref="OtherFiles"/> as the hub does
/// (<c>[{"type":"file","oid":…,"size":…,"path":…}]</c>), <see cref="PageSize"/> entries per page with a
/// <c>Link: &lt;…&gt;; rel="next"</c> header.
/// </summary>
internal sealed class FakeHubServer : IAsyncDisposable
{
    private const int ChunkSize = 16 * 1024;

    private readonly WebApplication _app;
    private int _contentGets;

    private FakeHubServer(WebApplication app, string repo, string file, byte[] content)
    {
        _app = app;
        Repo = repo;
        File = file;
        Content = content;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        LinkedEtag = Sha256;
    }

    public string Repo { get; }

    public string File { get; }

    public byte[] Content { get; }

    public string Sha256 { get; }

    public string Endpoint { get; private set; } = "";

    /// <summary>What X-Linked-Etag says; the real SHA-256 unless a test lies.</summary>
    public string LinkedEtag { get; set; }

    /// <summary>Answer the resolve URL with a redirect to a CDN path, as the hub does for LFS files.</summary>
    public bool RedirectToCdn { get; set; } = true;

    public bool IgnoreRange { get; set; }

    /// <summary>Every request to the resolve URL answers 503.</summary>
    public bool Unavailable { get; set; }

    /// <summary>Cut the connection of the first content GET after this many bytes of body.</summary>
    public long? DropFirstGetAfterBytes { get; set; }

    /// <summary>Stop sending (but keep the connection open) on the first content GET after this many bytes.</summary>
    public long? StallFirstGetAfterBytes { get; set; }

    /// <summary>Runs after the bytes before a drop or stall were flushed, before the drop happens.</summary>
    public Func<Task>? BeforeInterruption { get; set; }

    /// <summary>Files the tree listing shows besides <see cref="File"/> (path, size); they cannot be downloaded.</summary>
    public List<(string Path, long Size)> OtherFiles { get; } = [];

    public int PageSize { get; set; } = 1000;

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    public IEnumerable<SeenRequest> ContentGets => Requests.Where(r => r.Method == "GET" && r.ServedContent);

    public static async Task<FakeHubServer> StartAsync(byte[] content, string repo = "test-org/tiny-models", string file = "stories260K.gguf")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeHubServer(app, repo, file, content);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.Single();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = Uri.UnescapeDataString(request.Path.Value ?? "");
        var isResolve = path == $"/{Repo}/resolve/main/{File}";
        var isCdn = path == $"/cdn/{Sha256}";
        var servesContent = isCdn || (isResolve && !RedirectToCdn);
        Requests.Enqueue(new SeenRequest(request.Method, path, request.Headers.Range.ToString() is { Length: > 0 } r ? r : null,
            request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null, servesContent));

        if (path == $"/api/models/{Repo}/tree/main")
        {
            await ServeTreeAsync(context);
            return;
        }

        if (!isResolve && !isCdn)
        {
            response.StatusCode = 404;
            response.Headers["X-Error-Code"] = "EntryNotFound";
            return;
        }

        if (isResolve)
        {
            if (Unavailable)
            {
                response.StatusCode = 503;
                return;
            }

            response.Headers["X-Linked-Etag"] = $"\"{LinkedEtag}\"";
            response.Headers["X-Linked-Size"] = Content.Length.ToString(CultureInfo.InvariantCulture);
            response.Headers.ETag = "\"0123456789abcdef0123456789abcdef01234567\"";
            if (RedirectToCdn)
            {
                response.StatusCode = 302;
                response.Headers.Location = $"{Endpoint}/cdn/{Sha256}";
                return;
            }
        }

        await ServeContentAsync(context);
    }

    private async Task ServeTreeAsync(HttpContext context)
    {
        var entries = new List<(string Path, long Size)> { (File, Content.Length) };
        entries.AddRange(OtherFiles);
        var from = int.TryParse(context.Request.Query["cursor"], CultureInfo.InvariantCulture, out var c) ? c : 0;
        var page = entries.Skip(from).Take(PageSize).ToList();
        if (from + page.Count < entries.Count)
        {
            context.Response.Headers["Link"] = $"<{Endpoint}/api/models/{Repo}/tree/main?recursive=true&cursor={from + page.Count}>; rel=\"next\"";
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsJsonAsync(page.Select(e => new Dictionary<string, object>
        {
            ["type"] = "file",
            ["oid"] = "0123456789abcdef0123456789abcdef01234567",
            ["size"] = e.Size,
            ["path"] = e.Path,
        }));
    }

    private async Task ServeContentAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.AcceptRanges = "bytes";
        long from = 0;
        if (!IgnoreRange && request.Headers.Range.ToString() is { Length: > 0 } range)
        {
            from = long.Parse(range["bytes=".Length..range.IndexOf('-', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            if (from >= Content.Length)
            {
                response.StatusCode = 416;
                response.Headers.ContentRange = $"bytes */{Content.Length}";
                return;
            }

            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {from}-{Content.Length - 1}/{Content.Length}";
        }

        response.ContentLength = Content.Length - from;
        if (HttpMethods.IsHead(request.Method))
        {
            return;
        }

        var first = Interlocked.Increment(ref _contentGets) == 1;
        long? cut = first ? DropFirstGetAfterBytes ?? StallFirstGetAfterBytes : null;
        var position = from;
        while (position < Content.Length)
        {
            var end = (int)Math.Min(Content.Length, position + ChunkSize);
            if (cut is { } limit && end - from > limit)
            {
                end = (int)(from + limit);
            }

            if (end > position)
            {
                await response.Body.WriteAsync(Content.AsMemory((int)position, end - (int)position), context.RequestAborted);
                position = end;
            }

            if (cut is { } stop && position - from >= stop)
            {
                await response.Body.FlushAsync(context.RequestAborted);
                if (BeforeInterruption is { } hook)
                {
                    await hook();
                }

                if (DropFirstGetAfterBytes is not null)
                {
                    context.Abort();
                }
                else
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }

                return;
            }
        }
    }
}

internal sealed record SeenRequest(string Method, string Path, string? Range, string? Authorization, bool ServedContent);
