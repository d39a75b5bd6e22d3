using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.StableDiffusion;

/// <summary>The resolved settings of one Stable Diffusion server (<c>Type: sdapi</c>).</summary>
public sealed record StableDiffusionSettings(
    string Name, Uri BaseUrl, string? ApiKey, string KeySource, IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<string> Models, int? Steps, TimeoutOptions Timeouts);

/// <summary>
/// A Stable Diffusion server speaking AUTOMATIC1111's web API (<c>POST /sdapi/v1/txt2img</c>), as AUTOMATIC1111,
/// Forge and stable-diffusion.cpp's server do. OpenAI's image request is translated: <c>prompt</c>, <c>size</c> →
/// <c>width</c>/<c>height</c>, <c>n</c> → <c>batch_size</c> (one iteration), the model → the checkpoint
/// (<c>override_settings.sd_model_checkpoint</c>, unless it is <c>default</c>: whatever the server has loaded), the
/// configured <c>Steps</c>; the answer's <c>images</c> (base64) become <c>b64_json</c> items.
/// </summary>
public sealed class StableDiffusionProvider : IProvider, IImageBackend, IReusableProvider, IDisposable
{
    /// <summary>The model id that leaves the checkpoint to the server.</summary>
    public const string DefaultModel = "default";

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private readonly StableDiffusionSettings _settings;
    private readonly UpstreamClient _http;
    private readonly Uri _txt2img;
    private readonly TimeProvider _time;

    public StableDiffusionProvider(StableDiffusionSettings settings, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _time = time;
        _http = new UpstreamClient(settings.Timeouts, handler);
        _txt2img = new Uri(new Uri(settings.BaseUrl.ToString().TrimEnd('/') + "/"), "sdapi/v1/txt2img");
        Models = [.. settings.Models.Select(m => (m, ModelKind.Image))];
    }

    public string Name => _settings.Name;
    public string Describe => $"{_settings.BaseUrl} (Stable Diffusion web API, key: {_settings.KeySource})";
    public IChatBackend? Chat => null;
    public IEmbeddingBackend? Embeddings => null;
    public IImageBackend Images => this;
    public IReadOnlyList<(string Model, ModelKind Kind)> Models { get; }
    /// <summary>Any checkpoint name is passed on; the server says whether it has it.</summary>
    public bool AcceptsUnlistedModels => true;

    public ValueTask<ImageOutcome> GenerateAsync(ImageCall call, CancellationToken cancellationToken)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, _txt2img) { Content = new ByteArrayContent(Translate(call, _settings.Steps)) };
        message.Content.Headers.ContentType = JsonContentType;
        if (!string.IsNullOrEmpty(_settings.ApiKey))
        {
            // AUTOMATIC1111's --api-auth is HTTP Basic with user:password, which is what the key holds.
            message.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(_settings.ApiKey)));
        }
        foreach (var (name, value) in _settings.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }
        return _http.SendAsync<Txt2ImgExchange, ImageOutcome>(message, new Txt2ImgExchange(this, call.Request.N), _settings.Name, _settings.Timeouts, cancellationToken);
    }

    /// <summary>The txt2img body for an OpenAI image request.</summary>
    internal static byte[] Translate(ImageCall call, int? steps)
    {
        var request = call.Request;
        var buffer = new ArrayBufferWriter<byte>(256 + request.Prompt.Length);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("prompt"u8, request.Prompt);
            if (request.Pixels is { } pixels)
            {
                w.WriteNumber("width"u8, pixels.Width);
                w.WriteNumber("height"u8, pixels.Height);
            }
            w.WriteNumber("batch_size"u8, Math.Max(1, request.N));
            w.WriteNumber("n_iter"u8, 1);
            if (steps is { } s) w.WriteNumber("steps"u8, s);
            // The grid AUTOMATIC1111 would otherwise prepend to a batch is not one of the images asked for.
            w.WriteBoolean("do_not_save_grid"u8, true);
            if (!call.UpstreamModel.Equals(DefaultModel, StringComparison.OrdinalIgnoreCase))
            {
                w.WriteStartObject("override_settings"u8);
                w.WriteString("sd_model_checkpoint"u8, call.UpstreamModel);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The <c>images</c> of a txt2img answer (<c>{"images": [base64, ...], "parameters": {...}, "info": "..."}</c>).
    /// A server that still prepends a grid returns more than asked for: the last <paramref name="asked"/> are the images.
    /// </summary>
    internal static ImageOutcome Read(byte[] body, int asked, string provider, long created)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("images", out var images) || images.ValueKind != JsonValueKind.Array)
            {
                return UpstreamErrors.ProtocolError($"{provider} answered txt2img without an 'images' array.");
            }
            var all = new List<string>(images.GetArrayLength());
            foreach (var image in images.EnumerateArray())
            {
                if (image.ValueKind != JsonValueKind.String) return UpstreamErrors.ProtocolError($"{provider} answered txt2img with an image that is not a base64 string.");
                all.Add(image.GetString()!);
            }
            var kept = all.Count > asked ? all.GetRange(all.Count - asked, asked) : all;
            return new ImageResult { Images = kept, Count = kept.Count, Created = created };
        }
        catch (JsonException)
        {
            return UpstreamErrors.ProtocolError($"{provider} returned a body that is not JSON.");
        }
    }

    private readonly struct Txt2ImgExchange(StableDiffusionProvider provider, int asked) : IUpstreamExchange<ImageOutcome>
    {
        public bool Streams => false;

        public Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
            StableDiffusionErrors.FromResponseAsync(response, provider.Name, provider._time, cancellationToken);

        public GatewayError? RefuseStream(HttpResponseMessage response) => null;

        public ImageOutcome Stream(HttpResponseMessage response, Stream body) => throw new InvalidOperationException("Images are not streamed.");

        public ImageOutcome Complete(byte[] body) => Read(body, asked, provider.Name, provider._time.GetUtcNow().ToUnixTimeSeconds());

        public ImageOutcome Fail(GatewayError error) => error;
    }

    public bool SameSettings(IProvider other) => other is StableDiffusionProvider o && ProviderSettings.Same(_settings, o._settings);

    public void Dispose() => _http.Dispose();
}

/// <summary>
/// AUTOMATIC1111's errors are FastAPI's: <c>{"error", "detail", "body", "errors"}</c> for a failed generation, and
/// <c>{"detail": [...]}</c> for a request that does not validate (422). The status decides, as for every vendor.
/// </summary>
internal static class StableDiffusionErrors
{
    public static async Task<GatewayError> FromResponseAsync(HttpResponseMessage response, string provider, TimeProvider time, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await UpstreamErrors.ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
        var message = body.Length > 0 ? Encoding.UTF8.GetString(body) : UpstreamErrors.ReasonOf(response);
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                var parts = new List<string>();
                foreach (var name in (string[])["error", "errors", "detail"])
                {
                    if (root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } text) parts.Add(text);
                    else if (v.ValueKind is JsonValueKind.Array or JsonValueKind.Object) parts.Add(v.GetRawText());
                }
                if (parts.Count > 0) message = string.Join(": ", parts);
            }
        }
        catch (JsonException)
        {
        }
        return UpstreamErrors.FromStatus(provider, status, status.ToString(System.Globalization.CultureInfo.InvariantCulture), message, null, UpstreamErrors.RetryAfter(response.Headers, time));
    }
}
