using System.Net.Http.Headers;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Streaming;
using Sanjia.Core.Translation;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Gemini;

/// <summary>The resolved settings of one Gemini provider.</summary>
public sealed record GeminiProviderSettings(
    string Name,
    Uri BaseUrl,
    string? ApiKey,
    string KeySource,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<string> Models,
    bool DropUnsupportedParams,
    TimeoutOptions Timeouts);

/// <summary>
/// Google's Gemini API (<c>POST {base}/v1beta/models/{model}:generateContent</c> and
/// <c>:streamGenerateContent?alt=sse</c>, key in <c>x-goog-api-key</c>). The engine's OpenAI request is translated
/// to Gemini's, and the answer (JSON or event stream) back to OpenAI's. No retries here: routing decides.
/// </summary>
public sealed class GeminiProvider : IProvider, IChatBackend, IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private readonly GeminiProviderSettings _settings;
    private readonly HttpMessageInvoker _http;
    private readonly string _base;
    private readonly TimeProvider _time;

    public GeminiProvider(GeminiProviderSettings settings, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _time = time;
        _http = UpstreamHttp.CreateInvoker(settings.Timeouts, handler);
        _base = settings.BaseUrl.ToString().TrimEnd('/');
        Models = [.. settings.Models.Select(m => (m, ModelKind.Chat))];
    }

    public string Name => _settings.Name;
    public string Description => $"{_settings.Name} (Gemini)";
    public string Describe => $"{_settings.BaseUrl} (Gemini, key: {_settings.KeySource})";
    public IChatBackend Chat => this;
    public IEmbeddingBackend? Embeddings => null;
    public IReadOnlyList<(string Model, ModelKind Kind)> Models { get; }
    public bool AcceptsUnlistedModels => true;

    public async ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken)
    {
        var request = call.Request;
        var translated = OpenAiToGeminiRequest.Translate(request.Body.Span, Description, _settings.DropUnsupportedParams);
        if (translated.Error is not null)
        {
            return translated.Error;
        }
        var model = Uri.EscapeDataString(call.UpstreamModel.StartsWith("models/", StringComparison.Ordinal) ? call.UpstreamModel[7..] : call.UpstreamModel);
        var uri = new Uri(request.Stream
            ? $"{_base}/v1beta/models/{model}:streamGenerateContent?alt=sse"
            : $"{_base}/v1beta/models/{model}:generateContent");
        using var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(translated.Body!) };
        message.Content.Headers.ContentType = JsonContentType;
        message.Headers.TryAddWithoutValidation("x-goog-api-key", _settings.ApiKey);
        if (request.Stream) message.Headers.Accept.ParseAdd("text/event-stream");
        foreach (var (name, value) in _settings.Headers) message.Headers.TryAddWithoutValidation(name, value);

        return await _http.SendChatAsync(message, _settings.Name, _settings.Timeouts, async (response, token) =>
        {
            if (!response.IsSuccessStatusCode)
            {
                return (await GeminiUpstreamErrors.FromResponseAsync(response, _settings.Name, _time, token).ConfigureAwait(false), false);
            }
            var created = _time.GetUtcNow().ToUnixTimeSeconds();
            if (request.Stream)
            {
                var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
                var translator = new GeminiToOpenAiStream(call.UpstreamModel, request.IncludeUsage, created);
                return (new TranslatedStream(response, body, translator, _settings.Name, TimeSpan.FromSeconds(_settings.Timeouts.StreamIdleSeconds)), true);
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
            var (completion, usage, error) = GeminiToOpenAiResponse.Translate(bytes, call.UpstreamModel, created);
            return (error is not null ? error : new CompleteChatResponse(completion!, usage), false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();
}
