using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sanjia.Testing.FakeUpstream;

/// <summary>
/// A real Kestrel server on a loopback port that speaks OpenAI Chat Completions, Embeddings, Images and Models, standing in
/// for a cloud vendor in functional tests. Behaviours queued with <see cref="Enqueue"/> script the next chat or
/// embedding requests (FIFO, one each); every request is recorded, with whether the client abandoned it.
/// </summary>
public sealed class FakeOpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly FakeServerOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly Queue<FakeBehavior> _queue = new();
    private TaskCompletionSource _arrival = NewSignal();
    private FakeBehavior _default = FakeBehavior.Default;
    private int _active;
    private int _disposed;
    private readonly Connections _connections;

    private FakeOpenAiServer(WebApplication app, FakeServerOptions options, string apiKey, Connections connections)
    {
        _app = app;
        _options = options;
        ApiKey = apiKey;
        _connections = connections;
    }

    /// <summary>TCP connections the gateway has open to this server now (Kestrel's view: closed once the client closes).</summary>
    public int OpenConnections => Volatile.Read(ref _connections.Open);

    /// <summary>TCP connections accepted since the start.</summary>
    public int AcceptedConnections => Volatile.Read(ref _connections.Accepted);

    private sealed class Connections
    {
        public int Open;
        public int Accepted;
    }

    /// <summary>The base64 PNG every generated image is (<c>b64_json</c>).</summary>
    public const string ImagePng = Images.Png;

    /// <summary>The API root to configure a client with, e.g. <c>http://127.0.0.1:54321/v1</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The key the server requires as <c>Authorization: Bearer</c>.</summary>
    public string ApiKey { get; }

    /// <summary>A snapshot of every request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_gate) return [.. _requests]; }
    }

    /// <summary>Requests the server is handling right now.</summary>
    public int ActiveRequests => Volatile.Read(ref _active);

    /// <summary>Scripted behaviours not yet consumed.</summary>
    public int PendingBehaviors
    {
        get { lock (_gate) return _queue.Count; }
    }

    public static async Task<FakeOpenAiServer> StartAsync(FakeServerOptions? options = null)
    {
        options ??= new FakeServerOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        var connections = new Connections();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async connection =>
        {
            Interlocked.Increment(ref connections.Accepted);
            Interlocked.Increment(ref connections.Open);
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref connections.Open);
            }
        })));
        var app = builder.Build();

        var server = new FakeOpenAiServer(app, options, options.ApiKey ?? "sk-fake-" + Guid.NewGuid().ToString("N"), connections);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.BaseUrl = address.TrimEnd('/') + "/v1";
        return server;
    }

    /// <summary>A loopback port nothing listens on (at the time of the call), for "connection refused" tests.</summary>
    public static int GetUnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A base URL in the same form as <see cref="BaseUrl"/> that refuses connections.</summary>
    public static string GetUnreachableBaseUrl() => $"http://127.0.0.1:{GetUnusedPort()}/v1";

    /// <summary>Scripts the next chat or embedding requests, one behaviour each, in order.</summary>
    public void Enqueue(params FakeBehavior[] behaviors)
    {
        lock (_gate)
        {
            foreach (var b in behaviors) _queue.Enqueue(b);
        }
    }

    /// <summary>The behaviour used once the queue is empty.</summary>
    public void SetDefault(FakeBehavior behavior)
    {
        ArgumentNullException.ThrowIfNull(behavior);
        lock (_gate) _default = behavior;
    }

    /// <summary>Forgets recorded requests and queued behaviours (the default behaviour stays).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _requests.Clear();
            _queue.Clear();
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> requests have arrived in total.</summary>
    public async Task<IReadOnlyList<RecordedRequest>> WaitForRequestsAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task signal;
            lock (_gate)
            {
                if (_requests.Count >= count) return [.. _requests];
                signal = _arrival.Task;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"Expected {count} requests, saw {Requests.Count} within {timeout}.");
            try
            {
                await signal.WaitAsync(left).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Loop once more to report the count in the message.
            }
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _active);
        RecordedRequest? record = null;
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        try
        {
            var body = await ReadBodyAsync(context.Request, aborted.Token).ConfigureAwait(false);
            record = Record(context.Request, body);
            await DispatchAsync(new Exchange(context, record, aborted.Token)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && aborted.IsCancellationRequested)
        {
            // The client left or the server is stopping; the record below says which.
        }
        finally
        {
            var clientAborted = context.RequestAborted.IsCancellationRequested && record is { ServerAborted: false };
            record?.Finish(record.ServerAborted && !context.Response.HasStarted ? 0 : context.Response.StatusCode, clientAborted);
            Interlocked.Decrement(ref _active);
        }
    }

    private async Task DispatchAsync(Exchange x)
    {
        var request = x.Context.Request;
        var route = (request.Method, request.Path.Value);
        if (_options.Azure)
        {
            if (await AzureRouteAsync(x) is not { } canonical) return;
            route = (request.Method, canonical);
        }
        var known = route is ("POST", "/v1/chat/completions") or ("POST", "/v1/embeddings") or ("POST", "/v1/images/generations") or ("GET", "/v1/models");
        if (!known)
        {
            await x.WriteErrorAsync(404, $"Invalid URL ({request.Method} {request.Path})", code: "unknown_url").ConfigureAwait(false);
            return;
        }
        if (!await AuthorizeAsync(x).ConfigureAwait(false)) return;

        switch (route)
        {
            case ("GET", "/v1/models"):
                await x.WriteJsonAsync(200, ModelList()).ConfigureAwait(false);
                return;
            case ("POST", "/v1/chat/completions"):
            {
                var (chat, error) = ChatCompletions.Parse(x.Record.Body);
                if (error is not null)
                {
                    await x.WriteErrorAsync(400, error.Message, param: error.Param, code: error.Code).ConfigureAwait(false);
                    return;
                }
                var behavior = NextBehavior(x.Record);
                if (await PreambleAsync(x, behavior).ConfigureAwait(false))
                {
                    await ChatCompletions.RespondAsync(x, chat!, behavior, _options).ConfigureAwait(false);
                }
                return;
            }
            case ("POST", "/v1/images/generations"):
            {
                var (image, error) = Images.Parse(x.Record.Body);
                if (error is not null)
                {
                    await x.WriteErrorAsync(400, error.Message, param: error.Param, code: error.Code).ConfigureAwait(false);
                    return;
                }
                var behavior = NextBehavior(x.Record);
                if (await PreambleAsync(x, behavior).ConfigureAwait(false))
                {
                    await Images.RespondAsync(x, image!, behavior).ConfigureAwait(false);
                }
                return;
            }
            default:
            {
                var (embedding, error) = Embeddings.Parse(x.Record.Body, _options.EmbeddingDimensions);
                if (error is not null)
                {
                    await x.WriteErrorAsync(400, error.Message, param: error.Param, code: error.Code).ConfigureAwait(false);
                    return;
                }
                var behavior = NextBehavior(x.Record);
                if (await PreambleAsync(x, behavior).ConfigureAwait(false))
                {
                    await Embeddings.RespondAsync(x, embedding!, behavior).ConfigureAwait(false);
                }
                return;
            }
        }
    }

    /// <summary>Azure's paths mapped onto the OpenAI ones; null (after a 404/400 like Azure's) when the path or api-version is wrong.</summary>
    private async Task<string?> AzureRouteAsync(Exchange x)
    {
        var request = x.Context.Request;
        var m = System.Text.RegularExpressions.Regex.Match(request.Path.Value ?? "", "^/openai/(?:deployments/(?<d>[^/]+)|(?<v1>v1))/(?<op>chat/completions|embeddings|models)$");
        if (!m.Success)
        {
            await x.WriteErrorAsync(404, "Resource not found", code: "404").ConfigureAwait(false);
            return null;
        }
        if (m.Groups["d"].Success && string.IsNullOrEmpty(request.Query["api-version"]))
        {
            await x.WriteErrorAsync(400, "Missing required query parameter: api-version", code: "missing_api_version").ConfigureAwait(false);
            return null;
        }
        if (_options.AzureDeployments is { } deployments && m.Groups["op"].Value != "models")
        {
            var deployment = m.Groups["d"].Success ? Uri.UnescapeDataString(m.Groups["d"].Value) : BodyModel(x.Record.Body);
            if (deployment is null || !deployments.Contains(deployment))
            {
                await x.WriteErrorAsync(404, "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
                    code: "DeploymentNotFound").ConfigureAwait(false);
                return null;
            }
        }
        return "/v1/" + m.Groups["op"].Value;
    }

    private static string? BodyModel(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("model", out var model) && model.ValueKind == System.Text.Json.JsonValueKind.String ? model.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private async Task<bool> AuthorizeAsync(Exchange x)
    {
        if (_options.Azure)
        {
            if (x.Context.Request.Headers["api-key"] == ApiKey) return true;
            await x.WriteErrorAsync(401, "Access denied due to invalid subscription key or wrong API endpoint.", code: "401").ConfigureAwait(false);
            return false;
        }
        string? header = x.Context.Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            await x.WriteErrorAsync(401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code: null).ConfigureAwait(false);
            return false;
        }
        if (header != "Bearer " + ApiKey)
        {
            // Like the real API, name the key only by its last characters.
            var presented = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header[7..] : header;
            var tail = presented.Length > 4 ? presented[^4..] : "";
            await x.WriteErrorAsync(401, $"Incorrect API key provided: ****{tail}.", code: "invalid_api_key").ConfigureAwait(false);
            return false;
        }
        return true;
    }

    /// <summary>Applies what every scripted route shares: header delay, reset, extra headers, error status. False when the response is done.</summary>
    private static async Task<bool> PreambleAsync(Exchange x, FakeBehavior behavior)
    {
        await x.DelayAsync(behavior.HeaderDelay).ConfigureAwait(false);
        if (behavior.Fault == StreamFault.ResetBeforeResponse)
        {
            await x.AbortAsync(afterOutput: false).ConfigureAwait(false);
            return false;
        }
        x.ApplyHeaders(behavior);
        if (behavior.StatusCode is { } status)
        {
            if (behavior.ErrorBody is { } raw) await x.WriteJsonAsync(status, System.Text.Encoding.UTF8.GetBytes(raw)).ConfigureAwait(false);
            else await x.WriteErrorAsync(status, behavior.ErrorMessage ?? OpenAiWire.DefaultErrorMessage(status)).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    private FakeBehavior NextBehavior(RecordedRequest record)
    {
        FakeBehavior behavior;
        lock (_gate)
        {
            behavior = _queue.TryDequeue(out var next) ? next : _default;
        }
        record.Behavior = behavior;
        return behavior;
    }

    private byte[] ModelList() => OpenAiWire.Json(w =>
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var id in _options.Models)
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "model");
            w.WriteNumber("created", 1_700_000_000);
            w.WriteString("owned_by", "fake-upstream");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private RecordedRequest Record(HttpRequest request, byte[] body)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Headers)
        {
            headers[name] = values.ToString();
        }
        var record = new RecordedRequest(request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "", headers, body);
        TaskCompletionSource arrived;
        lock (_gate)
        {
            _requests.Add(record);
            arrived = _arrival;
            _arrival = NewSignal();
        }
        arrived.TrySetResult();
        return record;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Ends stalls and slow streams first, so stopping does not wait out their delays.
        await _stopping.CancelAsync().ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await _app.StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Kestrel aborts the connections it could not drain; nothing more to do for a test fake.
            }
        }
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
