using Sanjia.Abstractions;
using Sanjia.Core.Streaming;
using Sanjia.Core.Translation;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Gemini;

/// <summary>
/// Google's Gemini API (<c>POST {base}/v1beta/models/{model}:generateContent</c> and
/// <c>:streamGenerateContent?alt=sse</c>, key in <c>x-goog-api-key</c>). The engine's OpenAI request is translated
/// to Gemini's, and the answer (JSON or event stream) back to OpenAI's.
/// </summary>
public sealed class GeminiProvider(TranslatingProviderSettings settings, TimeProvider time, HttpMessageHandler? handler = null)
    : TranslatingChatProvider(settings, "Gemini", time, handler)
{
    private readonly string _base = settings.BaseUrl.ToString().TrimEnd('/');

    protected override VendorRequest TranslateRequest(ChatCall call)
    {
        var t = OpenAiToGeminiRequest.Translate(call.Request.Body.Span, Description, Settings.DropUnsupportedParams);
        return new VendorRequest(t.Body, t.Error);
    }

    protected override Uri RequestUri(ChatCall call)
    {
        var model = Uri.EscapeDataString(call.UpstreamModel.StartsWith("models/", StringComparison.Ordinal) ? call.UpstreamModel[7..] : call.UpstreamModel);
        return new Uri(call.Request.Stream
            ? $"{_base}/v1beta/models/{model}:streamGenerateContent?alt=sse"
            : $"{_base}/v1beta/models/{model}:generateContent");
    }

    protected override void Authorize(HttpRequestMessage message) => message.Headers.TryAddWithoutValidation("x-goog-api-key", Settings.ApiKey);

    protected override Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        GeminiUpstreamErrors.FromResponseAsync(response, Settings.Name, Time, cancellationToken);

    protected override IStreamTranslator StreamTranslator(ChatCall call, VendorRequest request, long created) =>
        new GeminiToOpenAiStream(call.UpstreamModel, call.Request.IncludeUsage, created);

    protected override (byte[]? Body, TokenUsage Usage, GatewayError? Error) TranslateAnswer(ReadOnlySpan<byte> body, ChatCall call, VendorRequest request, long created) =>
        GeminiToOpenAiResponse.Translate(body, call.UpstreamModel, created);
}
