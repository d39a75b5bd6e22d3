using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Pipeline;

/// <summary>An image generation request on its way through the pipeline.</summary>
public sealed class ImageContext(string requestId, string endpoint, ImageRequest request, ResolvedModel model, Caller caller, long startTimestamp)
    : CallContext(requestId, endpoint, model, caller, startTimestamp)
{
    private int _promptTokens = -1;

    /// <summary>The request; the guardrail stage replaces it with its redacted form, which is what the stages inside it see.</summary>
    public ImageRequest Request { get; internal set; } = request;

    public override bool Stream => false;

    public override TimeSpan? RequestedTimeout => Request.RequestedTimeout;

    /// <summary>The prompt's o200k count, counted when first asked for and kept (budget hold, routing, usage estimate).</summary>
    public int PromptTokens => _promptTokens >= 0 ? _promptTokens : _promptTokens = Tokens.TokenCounter.Count(Request.Prompt);

    /// <summary>Images the answering deployment returned (what a per-image price applies to); 0 until one answers.</summary>
    public int Generated { get; internal set; }

    /// <summary>
    /// Images are priced per image (by quality and size) where the model's price has a per-image table, otherwise by
    /// the tokens the vendor reports; only the deployment that answered made images.
    /// </summary>
    public override Cost CostOf(Pricer pricer, Deployment? deployment, TokenUsage usage, DateTimeOffset? at = null) =>
        deployment is not null && pricer.PriceOf(deployment) is { } price
            ? ImageCosts.Actual(price, Request, ReferenceEquals(deployment, Deployment) ? Generated : 0, usage, at)
            : Abstractions.Cost.Unpriced;
}

/// <summary>Image generation: one complete answer, priced per image or by tokens (<see cref="ImageCosts"/>).</summary>
public readonly struct ImageKind : ICallKind<ImageContext, ImageOutcome>
{
    public static bool Serves(Deployment deployment) => deployment.Provider.Images is not null;

    public static GatewayError NotServed(ResolvedModel model) =>
        GatewayError.Invalid($"The model '{model.RequestedId}' does not generate images: none of its providers has an image API.", "model", "model_not_image");

    public static async ValueTask<ImageOutcome> CallAsync(ImageContext context, Deployment deployment, CancellationToken cancellationToken)
    {
        var outcome = await deployment.Provider.Images!.GenerateAsync(new ImageCall(context.Request, deployment.UpstreamModel, context.RequestId), cancellationToken)
            .ConfigureAwait(false);
        if (outcome.Result is { } result) context.Generated = result.Count;
        return outcome;
    }

    public static GatewayError? ErrorOf(in ImageOutcome outcome) => outcome.Error;

    public static TokenUsage? UsageOf(in ImageOutcome outcome) => outcome.Result?.Usage;

    public static StreamingChatResponse? StreamOf(in ImageOutcome outcome) => null;

    public static ImageOutcome From(GatewayError error) => error;

    public static ImageOutcome From(StreamingChatResponse stream) => throw new NotSupportedException("Images are not streamed.");

    public static ChatRequest? ChatRequestOf(ImageContext context) => null;

    public static int EstimatedTokens(ImageContext context) => context.PromptTokens;

    public static GatewayError TooLarge(ImageContext context, int tokens, int largestWindow) =>
        new(GatewayErrorKind.InvalidRequest,
            $"This prompt is about {tokens} tokens, more than the largest context window ({largestWindow} tokens) of the deployments behind '{context.Model.RequestedId}'. Shorten the prompt.")
        { Param = "prompt", Code = Routing.FailureClassifier.ContextLengthExceeded };

    public static decimal WorstCase(ImageContext context, ModelPrice price, MeteringOptions options) =>
        ImageCosts.WorstCase(price, context.Request, context.PromptTokens, options);
}
