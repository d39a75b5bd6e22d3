using Sanjia.Abstractions;
using Sanjia.Core.Streaming;
using Sanjia.Core.Translation;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Anthropic;

/// <summary>
/// Anthropic's Messages API (<c>POST {base}/v1/messages</c>, <c>x-api-key</c>, <c>anthropic-version</c>). The engine's
/// OpenAI request is translated to Anthropic's, and the answer (JSON or event stream) back to OpenAI's.
/// </summary>
public sealed class AnthropicProvider(TranslatingProviderSettings settings, string version, TimeProvider time, HttpMessageHandler? handler = null)
    : TranslatingChatProvider(settings, "Anthropic", time, handler)
{
    private readonly Uri _messagesUri = new(new Uri(settings.BaseUrl.ToString().TrimEnd('/') + "/"), "v1/messages");

    protected override VendorRequest TranslateRequest(ChatCall call)
    {
        var t = OpenAiToAnthropicRequest.Translate(call.Request.Body.Span, call.UpstreamModel, Description, Settings.DropUnsupportedParams);
        return new VendorRequest(t.Body, t.Error, t.JsonToolEmulated);
    }

    protected override Uri RequestUri(ChatCall call) => _messagesUri;

    private string Version => version;

    protected override bool SameVendorSettings(TranslatingChatProvider other) => other is AnthropicProvider a && a.Version == version;

    protected override void Authorize(HttpRequestMessage message)
    {
        if (!string.IsNullOrEmpty(Settings.ApiKey)) message.Headers.TryAddWithoutValidation("x-api-key", Settings.ApiKey);
        message.Headers.TryAddWithoutValidation("anthropic-version", version);
    }

    protected override Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        AnthropicUpstreamErrors.FromResponseAsync(response, Settings.Name, Time, cancellationToken);

    protected override IStreamTranslator StreamTranslator(ChatCall call, VendorRequest request, long created) =>
        new AnthropicToOpenAiStream(call.UpstreamModel, call.Request.IncludeUsage, request.JsonToolEmulated, created);

    protected override (byte[]? Body, TokenUsage Usage, GatewayError? Error) TranslateAnswer(ReadOnlySpan<byte> body, ChatCall call, VendorRequest request, long created) =>
        AnthropicToOpenAiResponse.Translate(body, request.JsonToolEmulated, created);
}
