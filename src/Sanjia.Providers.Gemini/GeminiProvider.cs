using System.Net;
using System.Net.Http.Headers;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Translation;

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
    private readonly HttpClient _http;
    private readonly string _base;
    private readonly TimeProvider _time;

    public GeminiProvider(GeminiProviderSettings settings, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _time = time;
        handler ??= new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(settings.Timeouts.ConnectSeconds),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
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

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_settings.Timeouts.RequestSeconds));
        HttpResponseMessage? response = null;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return await GeminiUpstreamErrors.FromResponseAsync(response, _settings.Name, _time, timeout.Token).ConfigureAwait(false);
            }
            var created = _time.GetUtcNow().ToUnixTimeSeconds();
            if (request.Stream)
            {
                var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                var translator = new GeminiToOpenAiStream(call.UpstreamModel, request.IncludeUsage, created);
                var stream = new GeminiChatStream(response, body, translator, _settings.Name, TimeSpan.FromSeconds(_settings.Timeouts.StreamIdleSeconds));
                response = null; // owned by the stream now
                return stream;
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            var (completion, usage, error) = GeminiToOpenAiResponse.Translate(bytes, call.UpstreamModel, created);
            return error is not null ? error : new CompleteChatResponse(completion!, usage);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return GeminiUpstreamErrors.Timeout(_settings.Name, $"no answer within {_settings.Timeouts.RequestSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return new GatewayError(GatewayErrorKind.UpstreamUnreachable, $"{_settings.Name} could not be reached: {ex.Message}") { Code = "upstream_unreachable" };
        }
        catch (IOException ex)
        {
            return new GatewayError(GatewayErrorKind.UpstreamFailed, $"{_settings.Name} broke off the response: {ex.Message}") { Code = "upstream_error" };
        }
        finally
        {
            response?.Dispose();
        }
    }

    public void Dispose() => _http.Dispose();
}
