using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Pipeline;

/// <summary>Chat completions: complete answers or streams, priced on prompt plus admitted output.</summary>
public readonly struct ChatKind : ICallKind<ChatContext, ChatOutcome>
{
    /// <summary>Head-room on the prompt estimate: vendors' tokenizers differ from o200k by a few tens of percent.</summary>
    private const decimal PromptMargin = 1.5m;

    public static bool Serves(Deployment deployment) => deployment.Provider.Chat is not null;

    public static GatewayError NotServed(ResolvedModel model) =>
        GatewayError.Invalid($"The model '{model.RequestedId}' is not a chat model.", "model", "model_not_chat");

    public static ValueTask<ChatOutcome> CallAsync(ChatContext context, Deployment deployment, CancellationToken cancellationToken) =>
        deployment.Provider.Chat!.ChatAsync(new ChatCall(context.Request, deployment.UpstreamModel, context.RequestId), cancellationToken);

    public static GatewayError? ErrorOf(in ChatOutcome outcome) => outcome.Error;

    public static TokenUsage? UsageOf(in ChatOutcome outcome) => outcome.Response is CompleteChatResponse complete ? complete.Usage : null;

    public static string? FinishReasonOf(in ChatOutcome outcome) =>
        outcome.Response is CompleteChatResponse complete ? Telemetry.GatewayTelemetry.FinishReason(complete.Body.Span) : null;

    public static StreamingChatResponse? StreamOf(in ChatOutcome outcome) => outcome.Response as StreamingChatResponse;

    public static ChatOutcome From(GatewayError error) => error;

    public static ChatOutcome From(StreamingChatResponse stream) => stream;

    public static ChatRequest? ChatRequestOf(ChatContext context) => context.Request;

    public static int EstimatedTokens(ChatContext context) => context.PromptTokens + (context.Request.MaxTokens ?? 0);

    public static GatewayError TooLarge(ChatContext context, int tokens, int largestWindow) =>
        new(GatewayErrorKind.InvalidRequest,
            $"This request needs about {tokens} tokens (prompt plus max_tokens), more than the largest context window ({largestWindow} tokens) of the deployments behind '{context.Model.RequestedId}'. Shorten the messages or lower max_tokens.")
        { Param = "messages", Code = Routing.FailureClassifier.ContextLengthExceeded };

    public static decimal WorstCase(ChatContext context, ModelPrice price, MeteringOptions options) =>
        CostCalculator.WorstCase(price, (int)Math.Ceiling(context.PromptTokens * PromptMargin), Budgets.BudgetPolicy.AdmittedOutputTokens(context.Request, price, options));
}

/// <summary>Embeddings: one complete answer, priced on the inputs' tokens at the model's input price.</summary>
public readonly struct EmbeddingKind : ICallKind<EmbeddingContext, EmbeddingOutcome>
{
    /// <summary>Head-room on the inputs' o200k count, as for chat prompts.</summary>
    private const decimal InputMargin = 1.5m;

    public static bool Serves(Deployment deployment) => deployment.Provider.Embeddings is not null;

    public static GatewayError NotServed(ResolvedModel model) =>
        GatewayError.Invalid($"The model '{model.RequestedId}' is not an embedding model.", "model", "model_not_embedding");

    public static async ValueTask<EmbeddingOutcome> CallAsync(EmbeddingContext context, Deployment deployment, CancellationToken cancellationToken)
    {
        var outcome = await deployment.Provider.Embeddings!.EmbedAsync(new EmbeddingCall(context.Request, deployment.UpstreamModel, context.RequestId), cancellationToken)
            .ConfigureAwait(false);
        if (outcome.Result is { Usage.Input: 0 } result)
        {
            // The upstream reported no usage: the inputs' own count stands in for it (budgets and the ledger need one).
            return new EmbeddingResult { Body = result.Body, Vectors = result.Vectors, Usage = new TokenUsage(context.InputTokens, 0, Estimated: true) };
        }
        return outcome;
    }

    public static GatewayError? ErrorOf(in EmbeddingOutcome outcome) => outcome.Error;

    public static TokenUsage? UsageOf(in EmbeddingOutcome outcome) => outcome.Result?.Usage;

    public static StreamingChatResponse? StreamOf(in EmbeddingOutcome outcome) => null;

    public static EmbeddingOutcome From(GatewayError error) => error;

    public static EmbeddingOutcome From(StreamingChatResponse stream) => throw new NotSupportedException("Embeddings are not streamed.");

    public static ChatRequest? ChatRequestOf(EmbeddingContext context) => null;

    public static int EstimatedTokens(EmbeddingContext context) => context.InputTokens;

    public static GatewayError TooLarge(EmbeddingContext context, int tokens, int largestWindow) =>
        new(GatewayErrorKind.InvalidRequest,
            $"This request's input is about {tokens} tokens, more than the largest context window ({largestWindow} tokens) of the deployments behind '{context.Model.RequestedId}'. Shorten the input.")
        { Param = "input", Code = Routing.FailureClassifier.ContextLengthExceeded };

    public static decimal WorstCase(EmbeddingContext context, ModelPrice price, MeteringOptions options) =>
        CostCalculator.WorstCase(price, (int)Math.Ceiling(context.InputTokens * InputMargin), 0);
}
