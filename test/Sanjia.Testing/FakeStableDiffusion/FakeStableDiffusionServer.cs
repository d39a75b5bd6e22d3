using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sanjia.Testing.FakeStableDiffusion;

/// <summary>
/// A real Kestrel server speaking AUTOMATIC1111's web API, <c>POST /sdapi/v1/txt2img</c>: a JSON body with
/// <c>prompt</c> (required), <c>width</c>, <c>height</c>, <c>batch_size</c>, <c>n_iter</c>, <c>steps</c>,
/// <c>override_settings</c>; the answer <c>{"images": [base64 × batch_size × n_iter], "parameters": {the request},
/// "info": "&lt;JSON text&gt;"}</c> (modules/api/models.py, TextToImageResponse). With <see cref="ReturnGrid"/> it
/// prepends a grid image to batches, as AUTOMATIC1111 does by default unless <c>do_not_save_grid</c> is set.
/// </summary>
public sealed class FakeStableDiffusionServer : IAsyncDisposable
{
    /// <summary>A 1×1 PNG.</summary>
    public const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<JsonObject> _requests = [];
    private readonly Queue<int> _failures = new();

    private FakeStableDiffusionServer(WebApplication app) => _app = app;

    /// <summary>The server root, e.g. <c>http://127.0.0.1:54321</c> (the API is under <c>/sdapi/v1</c>).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Prepend a grid image to batches of more than one unless the request sets <c>do_not_save_grid</c>.</summary>
    public bool ReturnGrid { get; set; } = true;

    /// <summary>Every txt2img body received, in order.</summary>
    public IReadOnlyList<JsonObject> Requests
    {
        get { lock (_gate) return [.. _requests]; }
    }

    /// <summary>Answers the next requests with these statuses (FastAPI's error body), one each.</summary>
    public void FailNext(params int[] statuses)
    {
        lock (_gate)
        {
            foreach (var s in statuses) _failures.Enqueue(s);
        }
    }

    public static async Task<FakeStableDiffusionServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeStableDiffusionServer(app);
        app.MapPost("/sdapi/v1/txt2img", server.Txt2ImgAsync);
        await app.StartAsync().ConfigureAwait(false);
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/');
        return server;
    }

    private async Task Txt2ImgAsync(HttpContext http)
    {
        JsonObject? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body).ConfigureAwait(false) as JsonObject;
        }
        catch (JsonException)
        {
            body = null;
        }
        if (body is null || body["prompt"] is not JsonValue prompt || prompt.GetValueKind() != JsonValueKind.String)
        {
            // FastAPI's validation error shape.
            await Results.Json(new { detail = new[] { new { loc = new[] { "body", "prompt" }, msg = "field required", type = "value_error.missing" } } }, statusCode: 422)
                .ExecuteAsync(http).ConfigureAwait(false);
            return;
        }
        int? failure = null;
        lock (_gate)
        {
            _requests.Add(body);
            if (_failures.TryDequeue(out var f)) failure = f;
        }
        if (failure is { } status)
        {
            await Results.Json(new { error = "RuntimeError", detail = "", body = "", errors = "CUDA out of memory" }, statusCode: status).ExecuteAsync(http).ConfigureAwait(false);
            return;
        }
        var batch = (int?)body["batch_size"] ?? 1;
        var iterations = (int?)body["n_iter"] ?? 1;
        var images = new JsonArray();
        if (ReturnGrid && batch * iterations > 1 && body["do_not_save_grid"]?.GetValue<bool>() != true) images.Add(JsonValue.Create("GRID" + Png));
        for (var i = 0; i < batch * iterations; i++) images.Add(JsonValue.Create(Png));
        var info = new JsonObject { ["prompt"] = prompt.GetValue<string>(), ["width"] = (int?)body["width"] ?? 512, ["height"] = (int?)body["height"] ?? 512 };
        await Results.Json(new JsonObject { ["images"] = images, ["parameters"] = body.DeepClone(), ["info"] = info.ToJsonString() }).ExecuteAsync(http).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
