using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Routing;
using Sanjia.Providers.Anthropic;
using Sanjia.Providers.Gemini;
using Sanjia.Providers.OpenAi;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeGemini;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Tests.Providers;

/// <summary>
/// Each kind of provider, over real HTTP against its fake vendor, turns an upstream failure into the
/// <see cref="UpstreamErrorCodes"/> constant that <see cref="FailureClassifier"/> decides on: the same code, and so the
/// same choice between answering the caller, moving on, and retrying, whichever vendor and call kind failed.
/// </summary>
public sealed class UpstreamErrorVocabularyTests
{
    private static readonly RoutingOptions Routing = new();

    public static TheoryData<int, string, string, FailureAction> OpenAiFailures => new()
    {
        { 500, "The server had an error", UpstreamErrorCodes.Error, FailureAction.Retry },
        { 429, "Rate limit reached", UpstreamErrorCodes.RateLimited, FailureAction.Retry },
        { 401, "Incorrect API key provided", UpstreamErrorCodes.AuthenticationFailed, FailureAction.NextDeployment },
        { 400, "This model's maximum context length is 8192 tokens, however you requested 9000 tokens.", UpstreamErrorCodes.ContextLengthExceeded, FailureAction.NextDeployment },
        { 400, "'temperature' must be a number", UpstreamErrorCodes.Rejected, FailureAction.Return },
    };

    [Theory]
    [MemberData(nameof(OpenAiFailures))]
    public async Task OpenAi_chat_and_embeddings_map_a_status_to_the_same_code_the_classifier_acts_on(int status, string message, string code, FailureAction action)
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.SetDefault(FakeBehavior.Status(status, message));
        using var provider = OpenAi(fake);

        var chat = await provider.ChatAsync(ChatCall(stream: false), CancellationToken.None);
        var streamed = await provider.ChatAsync(ChatCall(stream: true), CancellationToken.None);
        var embedded = await provider.EmbedAsync(EmbeddingCall(), CancellationToken.None);

        foreach (var error in new[] { chat.Error, streamed.Error, embedded.Error })
        {
            AssertClassified(error, status, code, action);
        }
        Assert.Equal(3, fake.Requests.Count);
    }

    [Fact]
    public async Task An_embeddings_body_cut_mid_read_is_the_same_retryable_failure_as_a_cut_chat_body()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.SetDefault(FakeBehavior.DropAfterChunks(0));
        using var provider = OpenAi(fake);

        var embedded = await provider.EmbedAsync(EmbeddingCall(), CancellationToken.None);
        var chat = await provider.ChatAsync(ChatCall(stream: false), CancellationToken.None);

        Assert.Null(embedded.Result);
        Assert.NotNull(embedded.Error);
        Assert.NotNull(chat.Error);
        Assert.Equal(GatewayErrorKind.UpstreamFailed, embedded.Error.Kind);
        Assert.Equal(UpstreamErrorCodes.Error, embedded.Error.Code);
        Assert.StartsWith("vendor broke off the response", embedded.Error.Message, StringComparison.Ordinal);
        Assert.Equal(FailureAction.Retry, FailureClassifier.Classify(embedded.Error, Routing));
        Assert.Equal(502, ErrorStatus.For(embedded.Error));
        // One send: the chat call cut the same way fails with the same kind, code and wording.
        Assert.Equal((chat.Error.Kind, chat.Error.Code), (embedded.Error.Kind, embedded.Error.Code));
        Assert.StartsWith("vendor broke off the response", chat.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_vendor_is_the_same_code_for_chat_and_embeddings()
    {
        var options = new SanjiaOptions();
        options.Providers["vendor"] = new ProviderOptions { BaseUrl = FakeOpenAiServer.GetUnreachableBaseUrl(), ApiKey = "sk-test" };
        using var provider = (OpenAiCompatibleProvider)Create(new OpenAiProviderSource(TimeProvider.System), options);

        var chat = await provider.ChatAsync(ChatCall(stream: false), CancellationToken.None);
        var embedded = await provider.EmbedAsync(EmbeddingCall(), CancellationToken.None);

        Assert.Equal(UpstreamErrorCodes.Unreachable, chat.Error!.Code);
        Assert.Equal(UpstreamErrorCodes.Unreachable, embedded.Error!.Code);
        Assert.Equal(chat.Error.Message, embedded.Error.Message);
        Assert.Equal(FailureAction.Retry, FailureClassifier.Classify(embedded.Error, Routing));
    }

    public static TheoryData<int, string, string, string, FailureAction> AnthropicFailures => new()
    {
        { 529, "overloaded_error", "Overloaded", UpstreamErrorCodes.Overloaded, FailureAction.Retry },
        { 500, "api_error", "Internal server error", UpstreamErrorCodes.Error, FailureAction.Retry },
        { 429, "rate_limit_error", "Number of requests has exceeded your rate limit", UpstreamErrorCodes.RateLimited, FailureAction.Retry },
        { 401, "authentication_error", "invalid x-api-key", UpstreamErrorCodes.AuthenticationFailed, FailureAction.NextDeployment },
        { 400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", UpstreamErrorCodes.ContextLengthExceeded, FailureAction.NextDeployment },
        { 400, "invalid_request_error", "max_tokens: Field required", UpstreamErrorCodes.Rejected, FailureAction.Return },
    };

    [Theory]
    [MemberData(nameof(AnthropicFailures))]
    public async Task Anthropic_maps_a_status_to_the_same_code_the_classifier_acts_on(int status, string type, string message, string code, FailureAction action)
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        fake.Enqueue(new FakeAnthropicReply { Status = status, ErrorType = type, ErrorMessage = message });
        var options = new SanjiaOptions();
        options.Providers["claude"] = new ProviderOptions { Type = "anthropic", BaseUrl = fake.BaseUrl, ApiKey = fake.ApiKey };
        using var provider = (AnthropicProvider)Create(new AnthropicProviderSource(TimeProvider.System), options);

        var outcome = await provider.ChatAsync(ChatCall(stream: false, model: "claude-sonnet-4-5"), CancellationToken.None);

        AssertClassified(outcome.Error, status, code, action);
    }

    public static TheoryData<int, string, string, string, FailureAction> GeminiFailures => new()
    {
        { 503, "UNAVAILABLE", "The model is overloaded. Please try again later.", UpstreamErrorCodes.Overloaded, FailureAction.Retry },
        { 504, "DEADLINE_EXCEEDED", "Deadline exceeded", UpstreamErrorCodes.Timeout, FailureAction.Retry },
        { 500, "INTERNAL", "An internal error has occurred.", UpstreamErrorCodes.Error, FailureAction.Retry },
        { 429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", UpstreamErrorCodes.RateLimited, FailureAction.Retry },
        { 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.", UpstreamErrorCodes.AuthenticationFailed, FailureAction.NextDeployment },
        { 400, "INVALID_ARGUMENT", "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).", UpstreamErrorCodes.ContextLengthExceeded, FailureAction.NextDeployment },
        { 400, "INVALID_ARGUMENT", "Invalid value at 'generation_config.temperature'", UpstreamErrorCodes.Rejected, FailureAction.Return },
    };

    [Theory]
    [MemberData(nameof(GeminiFailures))]
    public async Task Gemini_maps_a_status_to_the_same_code_the_classifier_acts_on(int status, string googleStatus, string message, string code, FailureAction action)
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        fake.Enqueue(new FakeGeminiReply { Status = status, ErrorStatus = googleStatus, ErrorMessage = message });
        var options = new SanjiaOptions();
        options.Providers["gemini"] = new ProviderOptions { Type = "gemini", BaseUrl = fake.BaseUrl, ApiKey = fake.ApiKey };
        using var provider = (GeminiProvider)Create(new GeminiProviderSource(TimeProvider.System), options);

        var outcome = await provider.ChatAsync(ChatCall(stream: false, model: "gemini-2.5-flash"), CancellationToken.None);

        AssertClassified(outcome.Error, status, code, action);
    }

    private static void AssertClassified(GatewayError? error, int status, string code, FailureAction action)
    {
        Assert.NotNull(error);
        Assert.Equal(code, error.Code);
        Assert.Equal(status, error.UpstreamStatus);
        Assert.Equal(action, FailureClassifier.Classify(error, Routing));
    }

    private static OpenAiCompatibleProvider OpenAi(FakeOpenAiServer fake)
    {
        var options = new SanjiaOptions();
        options.Providers["vendor"] = new ProviderOptions { BaseUrl = fake.BaseUrl, ApiKey = fake.ApiKey, EmbeddingModels = ["text-embedding-3-small"] };
        return (OpenAiCompatibleProvider)Create(new OpenAiProviderSource(TimeProvider.System), options);
    }

    private static IProvider Create(IProviderSource source, SanjiaOptions options)
    {
        var errors = new ConfigErrors();
        var provider = Assert.Single(source.Create(options, errors));
        Assert.False(errors.Any, string.Join(" ", errors.Errors));
        return provider;
    }

    private static ChatCall ChatCall(bool stream, string model = "gpt-4o-mini")
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""");
        return new ChatCall(ChatRequestParser.Parse(body).Request!, model, "req-1");
    }

    private static EmbeddingCall EmbeddingCall() => new(
        new EmbeddingRequest { Body = Encoding.UTF8.GetBytes("""{"model":"text-embedding-3-small","input":"hello"}"""), Model = "text-embedding-3-small", Inputs = ["hello"] },
        "text-embedding-3-small", "req-2");
}
