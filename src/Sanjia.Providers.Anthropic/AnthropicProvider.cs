using System.Net.Http.Headers;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Streaming;
using Sanjia.Core.Translation;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Anthropic;

/// <summary>The resolved settings of one Anthropic provider.</summary>
public sealed record AnthropicProviderSettings(
    string Name,
    Uri BaseUrl,
    string? ApiKey,
    string KeySource,
    string Version,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<string> Models,
    bool DropUnsupportedParams,
    TimeoutOptions Timeouts);

/// <summary>
/// Anthropic's Messages API (<c>POST {base}/v1/messages</c>, <c>x-api-key</c>, <c>anthropic-version</c>). The engine's
/// OpenAI request is translated to Anthropic's, and the answer (JSON or event stream) back to OpenAI's.
/// </summary>
public sealed class AnthropicProvider : IProvider, IChatBackend, IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private readonly AnthropicProviderSettings _settings;
    private readonly HttpMessageInvoker _http;
    private readonly Uri _messagesUri;
    private readonly TimeProvider _time;

    public AnthropicProvider(AnthropicProviderSettings settings, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _time = time;
        _http = UpstreamHttp.CreateInvoker(settings.Timeouts, handler);
        _messagesUri = new Uri(new Uri(settings.BaseUrl.ToString().TrimEnd('/') + "/"), "v1/messages");
        Models = [.. settings.Models.Select(m => (m, ModelKind.Chat))];
    }

    public string Name => _settings.Name;
    public string Description => $"{_settings.Name} (Anthropic)";
    public string Describe => $"{_settings.BaseUrl} (Anthropic, key: {_settings.KeySource})";
    public IChatBackend Chat => this;
    public IEmbeddingBackend? Embeddings => null;
    public IReadOnlyList<(string Model, ModelKind Kind)> Models { get; }
    public bool AcceptsUnlistedModels => true;

    public async ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken)
    {
        var request = call.Request;
        var translated = OpenAiToAnthropicRequest.Translate(request.Body.Span, call.UpstreamModel, Description, _settings.DropUnsupportedParams);
        if (translated.Error is not null)
        {
            return translated.Error;
        }
        using var message = new HttpRequestMessage(HttpMethod.Post, _messagesUri) { Content = new ByteArrayContent(translated.Body!) };
        message.Content.Headers.ContentType = JsonContentType;
        if (!string.IsNullOrEmpty(_settings.ApiKey)) message.Headers.TryAddWithoutValidation("x-api-key", _settings.ApiKey);
        message.Headers.TryAddWithoutValidation("anthropic-version", _settings.Version);
        if (request.Stream) message.Headers.Accept.ParseAdd("text/event-stream");
        foreach (var (name, value) in _settings.Headers) message.Headers.TryAddWithoutValidation(name, value);

        return await _http.SendChatAsync(message, _settings.Name, _settings.Timeouts, async (response, token) =>
        {
            if (!response.IsSuccessStatusCode)
            {
                return (await AnthropicUpstreamErrors.FromResponseAsync(response, _settings.Name, _time, token).ConfigureAwait(false), false);
            }
            var created = _time.GetUtcNow().ToUnixTimeSeconds();
            if (request.Stream)
            {
                var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
                var translator = new AnthropicToOpenAiStream(call.UpstreamModel, request.IncludeUsage, translated.JsonToolEmulated, created);
                return (new TranslatedStream(response, body, translator, _settings.Name, TimeSpan.FromSeconds(_settings.Timeouts.StreamIdleSeconds)), true);
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
            var (completion, usage, error) = AnthropicToOpenAiResponse.Translate(bytes, translated.JsonToolEmulated, created);
            return (error is not null ? error : new CompleteChatResponse(completion!, usage), false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();
}
