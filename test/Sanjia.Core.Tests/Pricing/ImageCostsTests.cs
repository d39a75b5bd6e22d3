using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Tests.Pricing;

/// <summary>The image cost rule against the shipped image prices: per image by quality and size, or by tokens.</summary>
public sealed class ImageCostsTests
{
    private static readonly PriceCatalogue Catalogue = PriceCatalogue.LoadBuiltIn();

    private static ImageRequest Request(int n = 1, string? size = null, string? quality = null) =>
        new() { Body = "{}"u8.ToArray(), Model = "m", Prompt = "a cat", N = n, Size = size, Quality = quality };

    private static ModelPrice Price(string provider, string model) => Catalogue.Find(provider, model) ?? throw new InvalidOperationException(model);

    [Theory]
    [InlineData(null, null, 1, "0.04")] // dall-e-3's documented defaults: standard, 1024x1024
    [InlineData("1792x1024", "hd", 1, "0.12")]
    [InlineData("1024x1792", "standard", 1, "0.08")]
    [InlineData("1024x1024", "auto", 1, "0.04")]
    public void Dall_e_3_is_priced_per_image_by_quality_and_size(string? size, string? quality, int images, string expected)
    {
        var cost = ImageCosts.Actual(Price("openai", "dall-e-3"), Request(size: size, quality: quality), images, default, null);
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), cost.Amount);
        Assert.Equal("USD", cost.Currency);
    }

    [Fact]
    public void A_size_the_table_does_not_price_is_unpriced_not_guessed()
    {
        Assert.Equal(Cost.Unpriced, ImageCosts.Actual(Price("openai", "dall-e-2"), Request(size: "640x480"), 1, default, null));
    }

    [Fact]
    public void The_hold_is_n_times_the_dearest_price_the_request_can_land_on()
    {
        var options = new MeteringOptions();
        // 'auto' and absent mean the vendor's documented defaults (dall-e-3: standard 1024x1024).
        Assert.Equal(0.04m * 3, ImageCosts.WorstCase(Price("openai", "dall-e-3"), Request(n: 3, size: "auto"), 10, options));
        Assert.Equal(0.12m, ImageCosts.WorstCase(Price("openai", "dall-e-3"), Request(size: "1024x1792", quality: "hd"), 10, options));
        Assert.Equal(0.018m * 2, ImageCosts.WorstCase(Price("openai", "dall-e-2"), Request(n: 2, size: "512x512"), 10, options));
        // A size the table does not know: held at the dearest image, though the answer would be unpriced.
        Assert.Equal(0.02m * 2, ImageCosts.WorstCase(Price("openai", "dall-e-2"), Request(n: 2, size: "640x480"), 10, options));
    }

    [Fact]
    public void Gpt_image_is_charged_on_reported_tokens_and_held_on_its_output_tokens_per_image()
    {
        var price = Price("openai", "gpt-image-1");
        Assert.Equal(((20 * 5m) + (1056 * 40m)) / 1_000_000m, ImageCosts.Actual(price, Request(), 1, new TokenUsage(20, 1056), null).Amount);
        // Held: the prompt with head-room, plus 2 high 1024x1536 images (6240 output tokens each).
        Assert.Equal(((15 * 5m) + (2 * 6240 * 40m)) / 1_000_000m, ImageCosts.WorstCase(price, Request(n: 2, size: "1024x1536", quality: "high"), 10, new MeteringOptions()));
        // Left to the vendor: the dearest image the table has.
        Assert.Equal(((15 * 5m) + (6240 * 40m)) / 1_000_000m, ImageCosts.WorstCase(price, Request(), 10, new MeteringOptions()));
    }

    [Fact]
    public void CogView_is_priced_per_call_in_yuan()
    {
        var cost = ImageCosts.Actual(Price("zhipu", "cogview-4"), Request(size: "1024x1024"), 1, default, null);
        Assert.Equal(new Cost(0.06m, "CNY"), cost);
    }
}
