using System.Net;
using System.Net.Http.Headers;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;
using Sanjia.Core.Models;
using Sanjia.Core.Tokens;
using Sanjia.Providers.OpenAi.Presets;

namespace Sanjia.Providers.OpenAi;

/// <summary>The resolved settings of one OpenAI-compatible provider (preset defaults merged with configuration).</summary>
public sealed record OpenAiProviderSettings(
    string Name,
    Uri BaseUrl,
    string? ApiKey,
    string KeySource,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<string> ChatModels,
    IReadOnlyList<string> EmbeddingModels,
    bool StreamUsage,
    PresetQuirks Quirks,
    TimeoutOptions Timeouts)
{
    /// <summary>Set for <c>Type: azure</c>: Azure's deployment URLs and <c>api-version</c> replace the base URL paths.</summary>
    public AzureOpenAiSettings? Azure { get; init; }

    /// <summary>Image models listed by <c>/v1/models</c> (any other model id still reaches <c>images/generations</c>).</summary>
    public IReadOnlyList<string> ImageModels { get; init; } = [];
}

/// <summary>
/// OpenAI and every vendor that speaks its Chat Completions protocol. The caller's body is forwarded byte for byte
/// with only <c>model</c> rewritten (and <c>stream_options</c> added when the gateway needs usage); responses
/// are passed back as they come, read only for usage.
/// </summary>
public sealed class OpenAiCompatibleProvider : IProvider, IChatBackend, IEmbeddingBackend, IImageBackend, IModerationBackend, IListsModels, IReusableProvider, IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private readonly OpenAiProviderSettings _settings;
    private readonly UpstreamClient _http;
    private readonly Uri _chatUri;
    private readonly Uri _embeddingsUri;
    private readonly Uri _imagesUri;
    private readonly Uri _moderationsUri;
    private readonly TimeProvider _time;

    public OpenAiCompatibleProvider(OpenAiProviderSettings settings, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _time = time;
        _http = new UpstreamClient(settings.Timeouts, handler);
        var baseUrl = settings.BaseUrl.ToString().TrimEnd('/') + "/";
        _chatUri = new Uri(new Uri(baseUrl), "chat/completions");
        _embeddingsUri = new Uri(new Uri(baseUrl), "embeddings");
        _imagesUri = new Uri(new Uri(baseUrl), "images/generations");
        _moderationsUri = new Uri(new Uri(baseUrl), "moderations");
        Models = [.. settings.ChatModels.Select(m => (m, ModelKind.Chat)), .. settings.EmbeddingModels.Select(m => (m, ModelKind.Embedding)),
            .. settings.ImageModels.Select(m => (m, ModelKind.Image))];
    }

    public string Name => _settings.Name;
    public string Description => $"{_settings.Name} (OpenAI-compatible)";
    public string Describe => _settings.Azure is { } az
        ? $"{az.Endpoint} (Azure OpenAI, api-version {az.ApiVersion}, key: {_settings.KeySource})"
        : $"{_settings.BaseUrl} (key: {_settings.KeySource})";
    public IChatBackend Chat => this;
    public IEmbeddingBackend Embeddings => this;
    public IImageBackend Images => this;
    /// <summary>OpenAI's <c>/moderations</c>; Azure OpenAI has no such route (its content filters are part of each deployment).</summary>
    public IModerationBackend? Moderations => _settings.Azure is null ? this : null;
    public IReadOnlyList<(string Model, ModelKind Kind)> Models { get; }
    public bool AcceptsUnlistedModels => true;
    public OpenAiProviderSettings Settings => _settings;

    public ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken)
    {
        var request = call.Request;
        if (CheckQuirks(request, call.UpstreamModel) is { } unsupported)
        {
            return new(unsupported);
        }
        var addUsage = request.Stream && !request.HasStreamOptions && _settings.StreamUsage;
        var body = RequestRewriter.Rewrite(request, _settings.Azure?.BodyModel(call.UpstreamModel) ?? call.UpstreamModel, addUsage);
        var message = CreateRequest(_settings.Azure?.UriFor(call.UpstreamModel, "chat/completions") ?? _chatUri, body, request.Stream);
        return _http.SendAsync<ChatExchange, ChatOutcome>(message, new ChatExchange(this, request, addUsage), _settings.Name, _settings.Timeouts, cancellationToken);
    }

    public ValueTask<EmbeddingOutcome> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        var body = RequestRewriter.ReplaceModel(call.Request.Body.Span, _settings.Azure?.BodyModel(call.UpstreamModel) ?? call.UpstreamModel);
        if (body is null)
        {
            return new(GatewayError.Invalid("You must provide a model parameter.", "model"));
        }
        var message = CreateRequest(_settings.Azure?.UriFor(call.UpstreamModel, "embeddings") ?? _embeddingsUri, body, stream: false);
        return _http.SendAsync<EmbeddingExchange, EmbeddingOutcome>(message, new EmbeddingExchange(this), _settings.Name, _settings.Timeouts, cancellationToken);
    }

    /// <summary>
    /// <c>images/generations</c>: the caller's body with the model spliced. A request that leaves
    /// <c>response_format</c> out gets <c>b64_json</c> added, since the gateway stores no images and OpenAI's default
    /// is a URL; GPT image models are left alone: they always answer in base64 and refuse the parameter.
    /// </summary>
    public ValueTask<ImageOutcome> GenerateAsync(ImageCall call, CancellationToken cancellationToken)
    {
        var model = _settings.Azure?.BodyModel(call.UpstreamModel) ?? call.UpstreamModel;
        var body = RequestRewriter.ReplaceModel(call.Request.Body.Span, model);
        if (body is null)
        {
            return new(GatewayError.Invalid("You must provide a model parameter.", "model"));
        }
        if (!call.Request.HasResponseFormat && !call.UpstreamModel.StartsWith("gpt-image", StringComparison.OrdinalIgnoreCase))
        {
            body = AddMember(body, "\"response_format\":\"b64_json\","u8);
        }
        var message = CreateRequest(_settings.Azure?.UriFor(call.UpstreamModel, "images/generations") ?? _imagesUri, body, stream: false);
        return _http.SendAsync<ImageExchange, ImageOutcome>(message, new ImageExchange(this), _settings.Name, _settings.Timeouts, cancellationToken);
    }

    /// <summary><c>moderations</c>: the body with the model spliced; the answer passed back whole if it is a JSON object.</summary>
    public ValueTask<ModerationOutcome> ModerateAsync(ModerationCall call, CancellationToken cancellationToken)
    {
        var body = RequestRewriter.ReplaceModel(call.Body.Span, call.UpstreamModel);
        if (body is null)
        {
            return new(GatewayError.Invalid("You must provide a model parameter.", "model"));
        }
        return _http.SendAsync<ModerationExchange, ModerationOutcome>(CreateRequest(_moderationsUri, body, stream: false), new ModerationExchange(this), _settings.Name,
            _settings.Timeouts, cancellationToken);
    }

    private readonly struct ModerationExchange(OpenAiCompatibleProvider provider) : IUpstreamExchange<ModerationOutcome>
    {
        public bool Streams => false;

        public Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) => provider.ErrorAsync(response, cancellationToken);

        public GatewayError? RefuseStream(HttpResponseMessage response) => null;

        public ModerationOutcome Stream(HttpResponseMessage response, Stream body) => throw new InvalidOperationException("Moderations are not streamed.");

        public ModerationOutcome Complete(byte[] body) => ChunkScanner.Scan(body, text: null).Valid ? body : provider.NotJson();

        public ModerationOutcome Fail(GatewayError error) => error;
    }

    /// <summary>Puts <paramref name="member"/> (ending in a comma) first in a JSON object body that has other members.</summary>
    private static byte[] AddMember(byte[] body, ReadOnlySpan<byte> member)
    {
        var open = Array.IndexOf(body, (byte)'{');
        var copy = new byte[body.Length + member.Length];
        body.AsSpan(0, open + 1).CopyTo(copy);
        member.CopyTo(copy.AsSpan(open + 1));
        body.AsSpan(open + 1).CopyTo(copy.AsSpan(open + 1 + member.Length));
        return copy;
    }

    /// <summary>An image answer: passed on whole, read only for the image count and usage.</summary>
    private readonly struct ImageExchange(OpenAiCompatibleProvider provider) : IUpstreamExchange<ImageOutcome>
    {
        public bool Streams => false;

        public Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) => provider.ErrorAsync(response, cancellationToken);

        public GatewayError? RefuseStream(HttpResponseMessage response) => null;

        public ImageOutcome Stream(HttpResponseMessage response, Stream body) => throw new InvalidOperationException("Images are not streamed.");

        public ImageOutcome Complete(byte[] body)
        {
            var (valid, count, usage) = ImagesResponseScanner.Scan(body);
            return valid ? new ImageResult { Body = body, Count = count, Usage = usage } : provider.NotJson();
        }

        public ImageOutcome Fail(GatewayError error) => error;
    }

    /// <summary>A chat answer: passed on as it came, streamed or whole, read only for usage.</summary>
    private readonly struct ChatExchange(OpenAiCompatibleProvider provider, ChatRequest request, bool addUsage) : IUpstreamExchange<ChatOutcome>
    {
        public bool Streams => request.Stream;

        public Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) => provider.ErrorAsync(response, cancellationToken);

        public GatewayError? RefuseStream(HttpResponseMessage response) =>
            response.Content.Headers.ContentType?.MediaType is { } mediaType && !mediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase)
                ? UpstreamErrors.ProtocolError($"{provider.Name} answered a streaming request with '{mediaType}' instead of an event stream.")
                : null;

        public ChatOutcome Stream(HttpResponseMessage response, Stream body) =>
            new OpenAiStream(response, body, request, hideUsageChunk: addUsage, provider.Name);

        public ChatOutcome Complete(byte[] body)
        {
            var info = ChunkScanner.Scan(body, text: null);
            if (!info.Valid)
            {
                return provider.NotJson();
            }
            return new CompleteChatResponse(body, info.Usage ?? EstimateUsage(request, body));
        }

        public ChatOutcome Fail(GatewayError error) => error;
    }

    /// <summary>An embeddings answer: passed on whole, read only for usage.</summary>
    private readonly struct EmbeddingExchange(OpenAiCompatibleProvider provider) : IUpstreamExchange<EmbeddingOutcome>
    {
        public bool Streams => false;

        public Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) => provider.ErrorAsync(response, cancellationToken);

        public GatewayError? RefuseStream(HttpResponseMessage response) => null;

        public EmbeddingOutcome Stream(HttpResponseMessage response, Stream body) => throw new InvalidOperationException("Embeddings are not streamed.");

        public EmbeddingOutcome Complete(byte[] body)
        {
            var info = ChunkScanner.Scan(body, text: null);
            return info.Valid ? new EmbeddingResult { Body = body, Usage = info.Usage ?? default } : provider.NotJson();
        }

        public EmbeddingOutcome Fail(GatewayError error) => error;
    }

    private Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        OpenAiUpstreamErrors.FromResponseAsync(response, _settings.Name, _time, cancellationToken);

    private GatewayError NotJson() => UpstreamErrors.ProtocolError($"{_settings.Name} returned a body that is not a JSON object.");

    /// <summary>
    /// The vendor's <c>GET {base}/models</c> ids (OpenAI's list format: <c>data[].id</c>); null when it has none (404,
    /// 405) or for Azure, whose deployments are the configured ones.
    /// </summary>
    public async Task<IReadOnlyList<string>?> ListModelsAsync(CancellationToken cancellationToken)
    {
        if (_settings.Azure is not null) return null;
        using var message = CreateRequest(new Uri(new Uri(_settings.BaseUrl.ToString().TrimEnd('/') + "/"), "models"), body: null, stream: false);
        return await _http.UseAsync(async http =>
        {
            using var response = await http.SendAsync(message, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed) return null;
            response.EnsureSuccessStatusCode();
            await using var content = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var doc = await System.Text.Json.JsonDocument.ParseAsync(content, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != System.Text.Json.JsonValueKind.Array) return null;
            return (IReadOnlyList<string>?)[.. data.EnumerateArray()
                .Where(m => m.ValueKind == System.Text.Json.JsonValueKind.Object && m.TryGetProperty("id", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String)
                .Select(m => m.GetProperty("id").GetString()!)];
        }).ConfigureAwait(false);
    }

    private HttpRequestMessage CreateRequest(Uri uri, byte[]? body, bool stream)
    {
        var message = body is null ? new HttpRequestMessage(HttpMethod.Get, uri) : new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
        if (message.Content is not null) message.Content.Headers.ContentType = JsonContentType;
        if (stream)
        {
            message.Headers.Accept.ParseAdd("text/event-stream");
        }
        if (!string.IsNullOrEmpty(_settings.ApiKey))
        {
            if (_settings.Quirks.AuthHeader is { } header)
            {
                message.Headers.TryAddWithoutValidation(header, _settings.ApiKey);
            }
            else
            {
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _settings.ApiKey);
            }
        }
        foreach (var (name, value) in _settings.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }
        return message;
    }

    /// <summary>Refuses, naming the field, what this vendor is documented not to accept (catalogue.json, <c>quirks</c>).</summary>
    private GatewayError? CheckQuirks(ChatRequest request, string model)
    {
        var q = _settings.Quirks;
        if (request.N > 1 && !q.SupportsN)
        {
            return GatewayError.Invalid($"The parameter 'n' must be 1 for {_settings.Name}: it returns one choice per request.", "n", "unsupported_parameter");
        }
        // A dictionary lookup only for requests that set temperature or n on a vendor that fixes them for some models.
        if (q.FixedSampling is { } fixedModels && (request.Temperature is not null || request.N > 1)
            && fixedModels.TryGetValue(model, out var fixedSampling))
        {
            if (fixedSampling.N is { } n && request.N != n)
            {
                return GatewayError.Invalid($"The parameter 'n' must be {n} for {model} on {_settings.Name}: the vendor fixes it for this model.", "n", "unsupported_value");
            }
            if (request.Temperature is { } ft && fixedSampling.Temperatures.Count > 0 && !fixedSampling.Temperatures.Contains(ft))
            {
                var allowed = string.Join(" or ", fixedSampling.Temperatures.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                return GatewayError.Invalid($"The parameter 'temperature' must be {allowed} for {model} on {_settings.Name}: the vendor fixes it for this model (leave it out to get the default).", "temperature", "unsupported_value");
            }
        }
        if (request.Temperature is { } t)
        {
            var min = q.MinTemperature ?? 0;
            var max = q.MaxTemperature ?? 2;
            var belowMin = q.TemperatureExclusiveMin ? t <= min : t < min;
            if (belowMin || t > max)
            {
                var range = q.TemperatureExclusiveMin ? $"({min}, {max}]" : $"[{min}, {max}]";
                return GatewayError.Invalid($"The parameter 'temperature' must be in {range} for {_settings.Name}.", "temperature", "unsupported_value");
            }
        }
        return null;
    }

    private static TokenUsage EstimateUsage(ChatRequest request, byte[] body)
    {
        var text = new System.Text.StringBuilder();
        ChunkScanner.Scan(body, text);
        return new TokenUsage(TokenCounter.CountPrompt(request.PromptText), TokenCounter.Count(text.ToString()), Estimated: true);
    }

    /// <summary>The same resolved settings (preset, URL, key, headers, models, quirks, timeouts): a reload keeps this one, and its open connections.</summary>
    public bool SameSettings(IProvider other) => other is OpenAiCompatibleProvider o && ProviderSettings.Same(_settings, o._settings);

    /// <summary>Lets go of the connection; it closes when the answers still streaming are done.</summary>
    public void Dispose() => _http.Dispose();
}
