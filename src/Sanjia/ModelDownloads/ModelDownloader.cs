using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Sanjia.Abstractions;

namespace Sanjia.ModelDownloads;

public sealed class ModelDownloaderOptions
{
    /// <summary>Failed attempts in a row before giving up; an attempt that moved bytes starts the count again.</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for response headers or for the next bytes of the body before the attempt counts as failed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// Downloads one file from a Hugging Face repository the way huggingface_hub does: a HEAD on
/// <c>/{repo}/resolve/{revision}/{file}</c> without following the CDN redirect reads the linked size and SHA-256,
/// then a GET follows the redirect. Bytes go to <c>{file}.part</c>, which later runs resume with a Range request,
/// and the file only takes its real name once its checksum matches.
/// </summary>
public sealed class ModelDownloader : IDisposable
{
    private const int MaxRedirects = 10;
    private const int BufferSize = 256 * 1024;

    private readonly HttpClient _http;
    private readonly ModelDownloaderOptions _options;

    public ModelDownloader(ModelDownloaderOptions? options = null)
    {
        _options = options ?? new ModelDownloaderOptions();

        // Redirects are followed by hand: the HEAD must stop at the hub's answer (the CDN's lacks the X-Linked-*
        // headers) and the token must not travel to the CDN.
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("sanjia", "1.0"));
    }

    public async Task<DownloadResult> DownloadAsync(HubFileRequest request, IDownloadProgress? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        progress ??= NoDownloadProgress.Instance;
        if (request.Validate() is { } invalid)
        {
            return DownloadResult.Failed(invalid);
        }

        try
        {
            return await DownloadCoreAsync(request, progress, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Network IO errors are handled (and retried) inside; what reaches here is the local disk.
            return DownloadResult.Failed(new GatewayError(GatewayErrorKind.Internal,
                $"Could not write {request.PartPath}: {ex.Message}") { Code = "write_failed" });
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// The repository's files at the request's revision, from the hub's tree API
    /// (<c>GET /api/models/{repo}/tree/{revision}?recursive=true</c>, a JSON array of <c>{type, path, size}</c>,
    /// paged with a <c>Link: &lt;…&gt;; rel="next"</c> header). <see cref="HubFileRequest.File"/> is not used.
    /// </summary>
    public async Task<(IReadOnlyList<HubRepoFile> Files, GatewayError? Error)> ListFilesAsync(HubFileRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var files = new List<HubRepoFile>();
        Uri? next = new($"{request.Endpoint.TrimEnd('/')}/api/models/{request.Repo}/tree/{Uri.EscapeDataString(request.Revision)}?recursive=true");
        // A bound on pages, so a misbehaving mirror cannot loop us forever (the hub pages 1,000 entries at a time).
        for (var page = 0; next is not null && page < 100; page++)
        {
            var uri = next;
            var listed = await RetryAsync(c => ListPageAsync(request, uri, files, c), NoDownloadProgress.Instance, ct).ConfigureAwait(false);
            if (listed.Error is not null)
            {
                return ([], listed.Error);
            }
            next = listed.Value;
        }
        return (files, null);
    }

    private async Task<Attempt<Uri?>> ListPageAsync(HubFileRequest request, Uri uri, List<HubRepoFile> files, CancellationToken ct)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(_options.IdleTimeout);
        using var response = await SendAsync(HttpMethod.Get, uri, request.Token, 0, followAbsoluteRedirects: false, idle.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return Classify(response, request, $"the file list of {request.Repo} (revision {request.Revision})", uri).As<Uri?>();
        }

        var body = await response.Content.ReadAsByteArrayAsync(idle.Token).ConfigureAwait(false);
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            foreach (var entry in doc.RootElement.EnumerateArray())
            {
                if (entry.TryGetProperty("type", out var type) && type.ValueEquals("file")
                    && entry.TryGetProperty("path", out var path) && path.GetString() is { } p)
                {
                    var size = entry.TryGetProperty("size", out var sz) && sz.TryGetInt64(out var n) ? n : 0;
                    files.Add(new HubRepoFile(p, size));
                }
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            return new(new GatewayError(GatewayErrorKind.UpstreamFailed,
                $"The file list of {request.Repo} from {uri} is not the hub's JSON: {ex.Message}") { Code = "bad_file_list" });
        }

        return new(NextPage(response, uri));
    }

    /// <summary>The <c>rel="next"</c> target of a Link header (RFC 8288), as the hub pages its tree listing.</summary>
    private static Uri? NextPage(HttpResponseMessage response, Uri current)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
        {
            return null;
        }
        foreach (var link in links.SelectMany(l => l.Split(',')))
        {
            var parts = link.Split(';', StringSplitOptions.TrimEntries);
            if (parts.Length > 1 && parts[0].StartsWith('<') && parts[0].EndsWith('>')
                && parts.Skip(1).Any(p => p.Replace(" ", "", StringComparison.Ordinal) is "rel=\"next\"" or "rel=next"))
            {
                return new Uri(current, parts[0][1..^1]);
            }
        }
        return null;
    }

    private async Task<DownloadResult> DownloadCoreAsync(HubFileRequest request, IDownloadProgress progress, CancellationToken ct)
    {
        var target = request.DestinationPath;
        var part = request.PartPath;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);

        var head = await RetryAsync(c => HeadAsync(request, c), progress, ct).ConfigureAwait(false);
        if (head.Error is not null)
        {
            return DownloadResult.Failed(head.Error);
        }

        var metadata = head.Value!;
        var expectedSha = request.Sha256?.ToLowerInvariant() ?? metadata.Sha256;
        var shaSource = request.Sha256 is not null ? "--sha256" : $"the hub's {HubFileMetadata.LinkedEtagHeader}";

        if (File.Exists(target))
        {
            if (await CheckExistingAsync(target, metadata, expectedSha, progress, ct).ConfigureAwait(false) is { } present)
            {
                return present;
            }

            // Another model already has this name (two sources that would be served under one name): never replace it.
            var name = Path.GetFileNameWithoutExtension(target);
            return DownloadResult.Failed(new GatewayError(GatewayErrorKind.InvalidRequest,
                $"{target} already exists and is not {request.File} from {request.Repo}: both would be served as 'local/{name}'. "
                + $"Pull it under another name with --name, or remove the other one first with 'sanjia models rm {name}'.")
            { Param = "name", Code = "name_taken" });
        }

        var transfer = await RetryAsync(c => TransferAsync(request, metadata, progress, c), progress, ct).ConfigureAwait(false);
        if (transfer.Error is not null)
        {
            return DownloadResult.Failed(transfer.Error);
        }

        var length = transfer.Value;
        string? verified = null;
        if (expectedSha is not null)
        {
            progress.Verifying();
            var actual = await HashFileAsync(part, ct).ConfigureAwait(false);
            if (actual != expectedSha)
            {
                // A corrupt .part must not be resumed by the next run: it would never verify.
                File.Delete(part);
                return DownloadResult.Failed(new GatewayError(GatewayErrorKind.UpstreamFailed,
                    $"Checksum mismatch for {request.File} from {request.Repo}: expected SHA-256 {expectedSha} (from {shaSource}), "
                    + $"got {actual}. The download was deleted; nothing was saved.") { Code = "checksum_mismatch" });
            }

            verified = actual;
        }

        // Same folder, so the rename is atomic: a reader never sees a half-written model under the real name.
        File.Move(part, target, overwrite: true);
        return new DownloadResult { FilePath = target, Length = length, VerifiedSha256 = verified };
    }

    private static async Task<DownloadResult?> CheckExistingAsync(
        string target, HubFileMetadata metadata, string? expectedSha, IDownloadProgress progress, CancellationToken ct)
    {
        var length = new FileInfo(target).Length;
        if (metadata.Size is { } size && length != size)
        {
            return null;
        }

        if (expectedSha is null)
        {
            return new DownloadResult { FilePath = target, Length = length, AlreadyPresent = true };
        }

        progress.Verifying();
        return await HashFileAsync(target, ct).ConfigureAwait(false) == expectedSha
            ? new DownloadResult { FilePath = target, Length = length, AlreadyPresent = true, VerifiedSha256 = expectedSha }
            : null;
    }

    private async Task<Attempt<HubFileMetadata>> HeadAsync(HubFileRequest request, CancellationToken ct)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(_options.IdleTimeout);
        using var response = await SendAsync(HttpMethod.Head, request, rangeFrom: 0, followAbsoluteRedirects: false, idle.Token)
            .ConfigureAwait(false);

        var status = (int)response.StatusCode;
        if (status is >= 200 and < 400)
        {
            return new(HubFileMetadata.From(response));
        }

        // A plain mirror may not implement HEAD; the GET still works, only without size and checksum up front.
        if (response.StatusCode is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented)
        {
            return new(new HubFileMetadata(null, null));
        }

        return Classify(response, request).As<HubFileMetadata>();
    }

    private async Task<Attempt<long>> TransferAsync(
        HubFileRequest request, HubFileMetadata metadata, IDownloadProgress progress, CancellationToken ct)
    {
        var part = request.PartPath;
        var existing = File.Exists(part) ? new FileInfo(part).Length : 0;
        if (metadata.Size is { } size)
        {
            if (existing == size)
            {
                progress.Started(size, existing);
                return new(existing);
            }

            if (existing > size)
            {
                File.Delete(part);
                existing = 0;
            }
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        idle.CancelAfter(_options.IdleTimeout);
        using var response = await SendAsync(HttpMethod.Get, request, existing, followAbsoluteRedirects: true, idle.Token)
            .ConfigureAwait(false);

        long offset;
        switch (response.StatusCode)
        {
            case HttpStatusCode.PartialContent when existing > 0:
                if (response.Content.Headers.ContentRange?.From != existing)
                {
                    File.Delete(part);
                    return Attempt<long>.Transient("the server resumed at another offset than asked; starting over");
                }

                offset = existing;
                break;
            case HttpStatusCode.OK:
                // No Range sent, or the server ignored it and sends the whole file: start over with this response.
                offset = 0;
                break;
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                File.Delete(part);
                return Attempt<long>.Transient("the partial download is longer than the file on the server; starting over");
            default:
                return Classify(response, request).As<long>();
        }

        var total = metadata.Size ?? (response.Content.Headers.ContentLength is { } rest ? offset + rest : null);
        progress.Started(total, offset);

        // Unbuffered, so the .part on disk is exactly what arrived when the transfer is cut or cancelled.
        var file = new FileStream(part, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            file.SetLength(offset);
            file.Position = offset;

            var body = await response.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                var buffer = new byte[BufferSize];
                var position = offset;
                while (true)
                {
                    idle.CancelAfter(_options.IdleTimeout);
                    int read;
                    try
                    {
                        read = await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is IOException or HttpRequestException)
                    {
                        return Attempt<long>.Transient($"the connection broke ({ex.Message})", progressed: position > offset);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        return Attempt<long>.Transient(
                            $"no data for {_options.IdleTimeout.TotalSeconds:0} s", progressed: position > offset);
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    position += read;
                    progress.Advanced(position);
                }

                if (total is { } expected && position < expected)
                {
                    return Attempt<long>.Transient("the connection closed early", progressed: position > offset);
                }

                if (total is { } announced && position > announced)
                {
                    await file.DisposeAsync().ConfigureAwait(false);
                    File.Delete(part);
                    return new(new GatewayError(GatewayErrorKind.UpstreamFailed,
                        $"The server sent {position} bytes of {request.File} but announced {announced}; the download was deleted.")
                    { Code = "size_mismatch" });
                }

                return new(position);
            }
        }
    }

    /// <summary>Sends one request, following redirects by hand (see the constructor for why).</summary>
    private Task<HttpResponseMessage> SendAsync(
        HttpMethod method, HubFileRequest request, long rangeFrom, bool followAbsoluteRedirects, CancellationToken ct) =>
        SendAsync(method, request.ResolveUri, request.Token, rangeFrom, followAbsoluteRedirects, ct);

    private async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, Uri origin, string? token, long rangeFrom, bool followAbsoluteRedirects, CancellationToken ct)
    {
        var uri = origin;
        for (var hop = 0; ; hop++)
        {
            var message = new HttpRequestMessage(method, uri);
            if (!string.IsNullOrEmpty(token) && Uri.Compare(uri, origin, UriComponents.SchemeAndServer,
                    UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            {
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            if (rangeFrom > 0)
            {
                message.Headers.Range = new RangeHeaderValue(rangeFrom, null);
            }

            var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location && hop < MaxRedirects
                && (!location.IsAbsoluteUri || followAbsoluteRedirects))
            {
                var next = new Uri(uri, location);

                // Same rule as HttpClient's own redirect handling: never downgrade from https.
                if (!(uri.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps))
                {
                    response.Dispose();
                    uri = next;
                    continue;
                }
            }

            return response;
        }
    }

    private static Attempt<object?> Classify(HttpResponseMessage response, HubFileRequest request) =>
        Classify(response, request, $"{request.File} from {request.Repo} (revision {request.Revision})", request.ResolveUri);

    private static Attempt<object?> Classify(HttpResponseMessage response, HubFileRequest request, string where, Uri uri)
    {
        var status = (int)response.StatusCode;
        if (status is 408 or 429 or >= 500)
        {
            return Attempt<object?>.Transient($"the server answered {status} {response.ReasonPhrase}");
        }

        // The hub names the cause in X-Error-Code; a missing repo answers 401 to anonymous callers.
        var code = response.Headers.TryGetValues("X-Error-Code", out var codes) ? codes.FirstOrDefault() : null;
        var error = (code, status) switch
        {
            ("RepoNotFound", _) => new GatewayError(GatewayErrorKind.ModelNotFound,
                $"Could not download {where}: the repository {request.Repo} does not exist, or it is private and HF_TOKEN is not set.")
            { Code = "repo_not_found" },
            ("RevisionNotFound", _) => new GatewayError(GatewayErrorKind.ModelNotFound,
                $"Could not download {where}: the revision '{request.Revision}' does not exist in {request.Repo}.")
            { Code = "revision_not_found" },
            ("GatedRepo", _) or (_, 403) => new GatewayError(GatewayErrorKind.PermissionDenied,
                $"Could not download {where}: access is restricted (HTTP {status}). Accept the repository's terms on the hub "
                + "and set HF_TOKEN to an access token of that account.")
            { Code = "access_denied" },
            (_, 401) => new GatewayError(GatewayErrorKind.Authentication,
                $"Could not download {where}: the hub wants authentication (HTTP 401). Set HF_TOKEN to a Hugging Face access token.")
            { Code = "authentication_required" },
            (_, 404) => new GatewayError(GatewayErrorKind.ModelNotFound,
                $"Could not download {where}: not found (HTTP 404 from {uri}).")
            { Code = "file_not_found" },
            _ => new GatewayError(GatewayErrorKind.UpstreamRejected,
                $"Could not download {where}: the server answered {status} {response.ReasonPhrase}.")
            { Code = "download_rejected" },
        };
        return new(error with { UpstreamStatus = status });
    }

    private async Task<Attempt<T>> RetryAsync<T>(
        Func<CancellationToken, Task<Attempt<T>>> action, IDownloadProgress progress, CancellationToken ct)
    {
        var failures = 0;
        while (true)
        {
            Attempt<T> attempt;
            try
            {
                attempt = await action(ct).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                attempt = Attempt<T>.Transient($"the request failed ({ex.Message})");
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                attempt = Attempt<T>.Transient($"no answer for {_options.IdleTimeout.TotalSeconds:0} s");
            }

            if (attempt.TransientReason is not { } reason)
            {
                return attempt;
            }

            failures = attempt.Progressed ? 1 : failures + 1;
            if (failures >= _options.MaxAttempts)
            {
                return new(new GatewayError(GatewayErrorKind.UpstreamUnreachable,
                    $"Gave up after {failures} failed attempts in a row: {reason}. Run the command again to resume.")
                { Code = "download_failed" });
            }

            var delay = TimeSpan.FromTicks(Math.Min(
                _options.MaxBackoff.Ticks, _options.InitialBackoff.Ticks * (1L << Math.Min(failures - 1, 20))));
            progress.Retrying(failures, _options.MaxAttempts, delay, reason);
            await Task.Delay(delay, _options.TimeProvider, ct).ConfigureAwait(false);
        }
    }

    private static async Task<string> HashFileAsync(string path, CancellationToken ct)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false));
        }
    }

    /// <summary>One try: a value, a final error, or a reason to try again.</summary>
    private readonly record struct Attempt<T>(T? Value, GatewayError? Error, string? TransientReason, bool Progressed)
    {
        public Attempt(T value) : this(value, null, null, false) { }

        public Attempt(GatewayError error) : this(default, error, null, false) { }

        public static Attempt<T> Transient(string reason, bool progressed = false) => new(default, null, reason, progressed);

        public Attempt<TOther> As<TOther>() => new(default, Error, TransientReason, Progressed);
    }
}
