namespace Sanjia.Abstractions;

/// <summary>
/// An image generation request (OpenAI's <c>POST /v1/images/generations</c>): the caller's body, kept for
/// pass-through, and the fields routing, pricing and translating adapters read.
/// </summary>
public sealed class ImageRequest
{
    public required ReadOnlyMemory<byte> Body { get; init; }
    public required string Model { get; init; }
    public required string Prompt { get; init; }
    /// <summary>Images asked for (1-10, OpenAI's bounds).</summary>
    public int N { get; init; } = 1;
    /// <summary><c>WIDTHxHEIGHT</c> or <c>auto</c>; null = the vendor's default.</summary>
    public string? Size { get; init; }
    /// <summary><c>standard</c>, <c>hd</c>, <c>low</c>, <c>medium</c>, <c>high</c> or <c>auto</c>; null = the vendor's default.</summary>
    public string? Quality { get; init; }
    /// <summary>Whether the body names <c>response_format</c> (always <c>b64_json</c> once validated: the gateway stores no images).</summary>
    public bool HasResponseFormat { get; init; }
    /// <summary>The caller's own timeout (<c>x-sanjia-timeout</c>), covering the whole answer as for an embeddings call.</summary>
    public TimeSpan? RequestedTimeout { get; set; }

    /// <summary>The requested size as pixels, when it is <c>WIDTHxHEIGHT</c>.</summary>
    public (int Width, int Height)? Pixels => ParseSize(Size);

    public static (int Width, int Height)? ParseSize(string? size)
    {
        if (size is null) return null;
        var x = size.IndexOf('x', StringComparison.OrdinalIgnoreCase);
        return x > 0 && int.TryParse(size.AsSpan(0, x), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var w)
            && int.TryParse(size.AsSpan(x + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var h) && w > 0 && h > 0
            ? (w, h) : null;
    }
}

public sealed record ImageCall(ImageRequest Request, string UpstreamModel, string RequestId);

/// <summary>
/// A generated answer: either the vendor's own OpenAI <c>ImagesResponse</c> body (pass-through) or images a
/// translating adapter decoded, which the HTTP layer serialises. <see cref="Count"/> is what per-image prices apply to.
/// </summary>
public sealed class ImageResult
{
    public ReadOnlyMemory<byte>? Body { get; init; }
    /// <summary>Base64 images (translating adapters), in order.</summary>
    public IReadOnlyList<string>? Images { get; init; }
    public required int Count { get; init; }
    /// <summary>Tokens, where the vendor reports them (GPT image models); zero otherwise.</summary>
    public TokenUsage Usage { get; init; }
    /// <summary>Unix seconds for <c>created</c> when the gateway writes the body.</summary>
    public long Created { get; init; }
}

public readonly struct ImageOutcome
{
    private ImageOutcome(ImageResult? result, GatewayError? error) { Result = result; Error = error; }
    public ImageResult? Result { get; }
    public GatewayError? Error { get; }
    public static implicit operator ImageOutcome(ImageResult r) => new(r, null);
    public static implicit operator ImageOutcome(GatewayError e) => new(null, e);
}

/// <summary>A provider's image generation (the third capability beside <see cref="IChatBackend"/> and <see cref="IEmbeddingBackend"/>).</summary>
public interface IImageBackend
{
    ValueTask<ImageOutcome> GenerateAsync(ImageCall call, CancellationToken cancellationToken);
}

/// <summary>
/// How a model's images are priced, beside its token rates (<see cref="ModelPrice"/>): per image by quality and size
/// (DALL·E, CogView, a configured price for local Stable Diffusion), or by tokens with the output tokens an image of
/// each quality and size costs, for the budget hold (GPT image models, whose answers report their usage).
/// Keys are <c>quality/size</c>, <c>size</c>, <c>quality</c> or <c>*</c>, tried in that order.
/// </summary>
public sealed record ImagePrice
{
    public IReadOnlyDictionary<string, decimal>? PerImage { get; init; }
    public IReadOnlyDictionary<string, int>? OutputTokensPerImage { get; init; }
    /// <summary>The vendor's documented defaults, for a request that leaves them out (or says <c>auto</c>).</summary>
    public string? DefaultSize { get; init; }
    public string? DefaultQuality { get; init; }

    /// <summary>The figure for exactly this quality and size (defaults filled in), or null when the table has none.</summary>
    public static T? Exact<T>(IReadOnlyDictionary<string, T> table, ImagePrice price, string? quality, string? size) where T : struct
    {
        var q = Known(quality) ?? price.DefaultQuality;
        var s = Known(size) ?? price.DefaultSize;
        if (q is not null && s is not null && table.TryGetValue(q + "/" + s, out var both)) return both;
        if (s is not null && table.TryGetValue(s, out var bySize)) return bySize;
        if (q is not null && table.TryGetValue(q, out var byQuality)) return byQuality;
        return table.TryGetValue("*", out var any) ? any : null;
    }

    /// <summary>The exact figure, else the dearest one the request could still land on (the budget hold).</summary>
    public static T Worst<T>(IReadOnlyDictionary<string, T> table, ImagePrice price, string? quality, string? size) where T : struct, IComparable<T>
    {
        if (Exact(table, price, quality, size) is { } exact) return exact;
        T worst = default;
        foreach (var v in table.Values)
        {
            if (v.CompareTo(worst) > 0) worst = v;
        }
        return worst;
    }

    private static string? Known(string? value) => value is null || value.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : value.ToLowerInvariant();
}
