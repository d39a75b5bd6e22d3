using System.Net.Http.Headers;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Streaming;

namespace Sanjia.Core.Upstream;

/// <summary>The resolved settings of one provider whose vendor speaks its own protocol (Anthropic, Gemini).</summary>
public sealed record TranslatingProviderSettings(
    string Name,
    Uri BaseUrl,
    string? ApiKey,
    string KeySource,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<string> Models,
    bool DropUnsupportedParams,
    TimeoutOptions Timeouts);

/// <summary>
/// The one shape of a provider that translates: the engine's OpenAI request becomes the vendor's, is sent over the
/// pooled upstream connection (<see cref="UpstreamHttp"/>), and the answer (JSON or event stream, through
/// <see cref="TranslatedStream"/>) comes back as OpenAI's. A vendor adapter supplies only what differs: the request
/// translation, the address, the credentials and the answer and error translations. No retries here: routing decides.
/// </summary>
public abstract class TranslatingChatProvider : IProvider, IChatBackend, IReusableProvider, IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private readonly UpstreamClient _http;
    private readonly string _vendor;

    protected TranslatingChatProvider(TranslatingProviderSettings settings, string vendor, TimeProvider time, HttpMessageHandler? handler)
    {
        Settings = settings;
        Time = time;
        _vendor = vendor;
        _http = new UpstreamClient(settings.Timeouts, handler);
        Models = [.. settings.Models.Select(m => (m, ModelKind.Chat))];
    }

    protected TranslatingProviderSettings Settings { get; }
    protected TimeProvider Time { get; }

    public string Name => Settings.Name;
    public string Description => $"{Settings.Name} ({_vendor})";
    public string Describe => $"{Settings.BaseUrl} ({_vendor}, key: {Settings.KeySource})";
    public IChatBackend Chat => this;
    public IEmbeddingBackend? Embeddings => null;
    public IReadOnlyList<(string Model, ModelKind Kind)> Models { get; }
    public bool AcceptsUnlistedModels => true;

    /// <summary>The vendor request for one call, or why it cannot be made; <see cref="JsonToolEmulated"/> travels to the answer's translation.</summary>
    protected readonly record struct VendorRequest(byte[]? Body, GatewayError? Error, bool JsonToolEmulated = false);

    protected abstract VendorRequest TranslateRequest(ChatCall call);

    protected abstract Uri RequestUri(ChatCall call);

    /// <summary>Adds the credentials (and any fixed vendor headers) to the request.</summary>
    protected abstract void Authorize(HttpRequestMessage message);

    protected abstract Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken);

    protected abstract IStreamTranslator StreamTranslator(ChatCall call, VendorRequest request, long created);

    protected abstract (byte[]? Body, TokenUsage Usage, GatewayError? Error) TranslateAnswer(ReadOnlySpan<byte> body, ChatCall call, VendorRequest request, long created);

    public ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken)
    {
        var request = call.Request;
        var vendorRequest = TranslateRequest(call);
        if (vendorRequest.Error is not null)
        {
            return new(vendorRequest.Error);
        }
        var message = new HttpRequestMessage(HttpMethod.Post, RequestUri(call)) { Content = new ByteArrayContent(vendorRequest.Body!) };
        message.Content.Headers.ContentType = JsonContentType;
        Authorize(message);
        if (request.Stream) message.Headers.Accept.ParseAdd("text/event-stream");
        foreach (var (name, value) in Settings.Headers) message.Headers.TryAddWithoutValidation(name, value);
        return _http.SendAsync<Exchange, ChatOutcome>(message, new Exchange(this, call, vendorRequest), Settings.Name, Settings.Timeouts, cancellationToken);
    }

    /// <summary>One call's answer: the vendor's error, stream or body translated back to OpenAI's.</summary>
    private readonly struct Exchange(TranslatingChatProvider provider, ChatCall call, VendorRequest request) : IUpstreamExchange<ChatOutcome>
    {
        public bool Streams => call.Request.Stream;

        public Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) => provider.ErrorAsync(response, cancellationToken);

        public GatewayError? RefuseStream(HttpResponseMessage response) => null;

        public ChatOutcome Stream(HttpResponseMessage response, Stream body) =>
            new TranslatedStream(response, body, provider.StreamTranslator(call, request, provider.Time.GetUtcNow().ToUnixTimeSeconds()), provider.Settings.Name);

        public ChatOutcome Complete(byte[] body)
        {
            var (completion, usage, error) = provider.TranslateAnswer(body, call, request, provider.Time.GetUtcNow().ToUnixTimeSeconds());
            return error is not null ? error : new CompleteChatResponse(completion!, usage);
        }

        public ChatOutcome Fail(GatewayError error) => error;
    }

    /// <summary>The same vendor with the same settings: a reload keeps this one, and its open connections.</summary>
    public bool SameSettings(IProvider other) =>
        other is TranslatingChatProvider o && o.GetType() == GetType() && ProviderSettings.Same(Settings, o.Settings) && SameVendorSettings(o);

    /// <summary>Settings a vendor adapter keeps beside <see cref="Settings"/> (e.g. Anthropic's API version).</summary>
    protected virtual bool SameVendorSettings(TranslatingChatProvider other) => true;

    /// <summary>Lets go of the connection; it closes when the answers still streaming are done.</summary>
    public void Dispose()
    {
        _http.Dispose();
        GC.SuppressFinalize(this);
    }
}
