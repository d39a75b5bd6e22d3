using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Routing;

namespace Sanjia.Core.Tests.Routing;

public class FailureClassifierTests
{
    /// <summary>Each vendor's wording for "the prompt does not fit this model", as its documentation or API returns it.</summary>
    [Theory]
    [InlineData("context_length_exceeded", "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.")] // OpenAI, Azure
    [InlineData("string_above_max_length", "Invalid 'messages[0].content': string too long. Expected a string with maximum length 10485760, but got a string with length 10485761 instead.")] // OpenAI
    [InlineData("invalid_request_error", "This model's maximum context length is 65536 tokens. However, you requested 66343 tokens (62247 in the messages, 4096 in the completion). Please reduce the length of the messages or completion.")] // DeepSeek
    [InlineData("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")] // Anthropic (error.type)
    [InlineData("INVALID_ARGUMENT", "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).")] // Gemini
    [InlineData(null, "Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)")] // Kimi / Moonshot
    [InlineData("InvalidParameter", "Range of input length should be [1, 30720]")] // Qwen / DashScope
    [InlineData("1261", "Prompt exceeds max length")] // GLM / Zhipu
    [InlineData(null, "invalid params, context window exceeds limit (2013)")] // MiniMax
    [InlineData(null, "Prompt contains 66385 tokens, too large for model with 32768 maximum context length")] // Mistral
    [InlineData(null, "This model's maximum prompt length is 131072 but the request contains 136973 tokens.")] // xAI
    [InlineData("exceed_context_size_error", "the request exceeds the available context size, try increasing it")] // llama.cpp server
    public void Every_vendors_context_overflow_wording_fails_over_and_is_not_retried(string? upstreamCode, string message)
    {
        var code = FailureClassifier.RejectionCode(upstreamCode, message);
        var error = new GatewayError(GatewayErrorKind.UpstreamRejected, message) { UpstreamStatus = 400, Code = code };

        Assert.Equal(UpstreamErrorCodes.ContextLengthExceeded, code);
        Assert.Equal(FailureAction.NextDeployment, FailureClassifier.Classify(error, new RoutingOptions()));
        Assert.False(FailureClassifier.CountsAgainstDeployment(error));
    }

    [Theory]
    [InlineData("invalid_request_error", "Invalid max_tokens value, the valid range of max_tokens is [1, 8192]")]
    [InlineData(null, "temperature is invalid")]
    [InlineData("invalid_request_error", "messages: roles must alternate between \"user\" and \"assistant\"")]
    public void Other_client_errors_go_back_to_the_caller(string? upstreamCode, string message)
    {
        var code = FailureClassifier.RejectionCode(upstreamCode, message);

        Assert.Equal(UpstreamErrorCodes.Rejected, code);
        Assert.Equal(FailureAction.Return, FailureClassifier.Classify(new GatewayError(GatewayErrorKind.UpstreamRejected, message) { Code = code }, new RoutingOptions()));
    }

    [Theory]
    [InlineData("content_filter", "The response was filtered")]
    [InlineData(null, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.")]
    public void Content_filter_refusals_fail_over_only_when_configured(string? upstreamCode, string message)
    {
        var error = new GatewayError(GatewayErrorKind.UpstreamRejected, message) { Code = FailureClassifier.RejectionCode(upstreamCode, message) };

        Assert.Equal(UpstreamErrorCodes.ContentFilter, error.Code);
        Assert.Equal(FailureAction.Return, FailureClassifier.Classify(error, new RoutingOptions()));
        Assert.Equal(FailureAction.NextDeployment, FailureClassifier.Classify(error, new RoutingOptions { FallbackOnContentFilter = true }));
    }

    [Theory]
    [InlineData(GatewayErrorKind.UpstreamFailed, UpstreamErrorCodes.Error)]
    [InlineData(GatewayErrorKind.UpstreamUnreachable, UpstreamErrorCodes.Unreachable)]
    [InlineData(GatewayErrorKind.UpstreamTimeout, UpstreamErrorCodes.Timeout)]
    [InlineData(GatewayErrorKind.RateLimited, UpstreamErrorCodes.RateLimited)]
    [InlineData(GatewayErrorKind.Overloaded, UpstreamErrorCodes.Overloaded)]
    [InlineData(GatewayErrorKind.Overloaded, "overloaded")]
    public void Transient_failures_including_overload_are_retried(GatewayErrorKind kind, string code) =>
        Assert.Equal(FailureAction.Retry, FailureClassifier.Classify(new GatewayError(kind, "x") { Code = code }, new RoutingOptions()));

    [Fact]
    public void A_refused_gateway_key_moves_on_without_retrying() =>
        Assert.Equal(FailureAction.NextDeployment, FailureClassifier.Classify(
            new GatewayError(GatewayErrorKind.UpstreamFailed, "x") { Code = UpstreamErrorCodes.AuthenticationFailed }, new RoutingOptions()));

    [Theory]
    [InlineData(GatewayErrorKind.Overloaded, UpstreamErrorCodes.ModelOverloaded)]
    [InlineData(GatewayErrorKind.UpstreamFailed, UpstreamErrorCodes.ModelLoadFailed)]
    [InlineData(GatewayErrorKind.UpstreamFailed, UpstreamErrorCodes.LocalGenerationFailed)]
    [InlineData(GatewayErrorKind.UpstreamFailed, UpstreamErrorCodes.LocalDecodeFailed)]
    [InlineData(GatewayErrorKind.UpstreamFailed, UpstreamErrorCodes.LocalEmbeddingFailed)]
    [InlineData(GatewayErrorKind.UpstreamFailed, UpstreamErrorCodes.StreamInterrupted)]
    [InlineData(GatewayErrorKind.UpstreamFailed, UpstreamErrorCodes.MalformedChunk)]
    [InlineData(GatewayErrorKind.UpstreamFailed, UpstreamErrorCodes.ProtocolError)]
    public void Local_model_and_broken_answer_codes_are_retried_like_any_transient_failure(GatewayErrorKind kind, string code) =>
        Assert.Equal(FailureAction.Retry, FailureClassifier.Classify(new GatewayError(kind, "x") { Code = code }, new RoutingOptions()));

    [Fact]
    public void A_rejected_code_is_returned_to_the_caller() =>
        Assert.Equal(FailureAction.Return, FailureClassifier.Classify(
            new GatewayError(GatewayErrorKind.UpstreamRejected, "x") { Code = UpstreamErrorCodes.Rejected, UpstreamStatus = 400 }, new RoutingOptions()));
}
