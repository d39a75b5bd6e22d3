using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Pricing;

/// <summary>
/// The cost rule of images, as vendors charge them: per image by quality and size where the price has a per-image
/// table (DALL·E, CogView, configured local prices), otherwise the reported tokens at the model's token rates (GPT
/// image models). A size or quality the table does not price leaves the answer unpriced, never guessed.
/// </summary>
public static class ImageCosts
{
    /// <summary>Head-room on the prompt's o200k count, as for chat prompts.</summary>
    private const decimal PromptMargin = 1.5m;

    public static Cost Actual(ModelPrice price, ImageRequest request, int images, TokenUsage usage, DateTimeOffset? at)
    {
        if (price.Images is { PerImage: { } table } images_)
        {
            return ImagePrice.Exact(table, images_, request.Quality, request.Size) is { } each ? new Cost(each * images, price.Currency) : Cost.Unpriced;
        }
        return new Cost(CostCalculator.Compute(price, usage, at), price.Currency);
    }

    /// <summary>
    /// The budget hold: <c>n</c> images at the per-image price (the dearest the table has when the size or quality is
    /// left to the vendor), or the prompt plus <c>n</c> images' output tokens at the token rates.
    /// </summary>
    public static decimal WorstCase(ModelPrice price, ImageRequest request, int promptTokens, MeteringOptions options)
    {
        var n = Math.Max(1, request.N);
        if (price.Images is { PerImage: { } table } perImage)
        {
            return n * ImagePrice.Worst(table, perImage, request.Quality, request.Size);
        }
        var tokensPerImage = price.Images is { OutputTokensPerImage: { } tokens } byTokens
            ? ImagePrice.Worst(tokens, byTokens, request.Quality, request.Size)
            : options.DefaultMaxOutputTokens;
        return CostCalculator.WorstCase(price, (int)Math.Ceiling(promptTokens * PromptMargin), n * tokensPerImage);
    }
}
