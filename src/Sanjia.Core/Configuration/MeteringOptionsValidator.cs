namespace Sanjia.Core.Configuration;

/// <summary>Checks <c>Sanjia:Metering</c>; errors name the exact path.</summary>
public static class MeteringOptionsValidator
{
    private const string P = SanjiaOptions.Section + ":Metering";

    public static void Validate(MeteringOptions o, ConfigErrors errors)
    {
        foreach (var (id, price) in o.Prices)
        {
            if (!id.Contains('/'))
            {
                errors.Add($"{P}:Prices:{id}", "must be a deployment id 'provider/model'.");
            }
            ValidatePrice(price, $"{P}:Prices:{id}", errors);
        }
        if (o.LocalCompute is { } local)
        {
            ValidatePrice(local, $"{P}:LocalCompute", errors);
        }
        if (o.DefaultMaxOutputTokens < 1)
        {
            errors.Add($"{P}:DefaultMaxOutputTokens", "must be at least 1.");
        }
        if (o.PricesFile is { } f && !File.Exists(f))
        {
            errors.Add($"{P}:PricesFile", $"the file '{f}' does not exist.");
        }
        foreach (var (from, rates) in o.ExchangeRates)
        {
            foreach (var (to, rate) in rates)
            {
                if (rate <= 0) errors.Add($"{P}:ExchangeRates:{from}:{to}", "must be positive.");
            }
        }
    }

    private static void ValidatePrice(PriceOptions p, string path, ConfigErrors errors)
    {
        if (p.Currency is not { Length: 3 }) errors.Add($"{path}:Currency", "must be a three-letter currency code such as USD or CNY.");
        if (p.Input < 0) errors.Add($"{path}:Input", "must not be negative.");
        if (p.Output < 0) errors.Add($"{path}:Output", "must not be negative.");
        if (p.CachedInput < 0) errors.Add($"{path}:CachedInput", "must not be negative.");
        if (p.Reasoning < 0) errors.Add($"{path}:Reasoning", "must not be negative.");
        if (p.ThinkingOutput < 0) errors.Add($"{path}:ThinkingOutput", "must not be negative.");
        if (p.OffPeak is { } off)
        {
            if (off.Input < 0 || off.Output < 0 || off.CachedInput < 0) errors.Add($"{path}:OffPeak", "prices must not be negative.");
            if (Pricing.PriceRules.Problem(off.PeakDays, off.PeakHoursUtc) is { } problem) errors.Add($"{path}:OffPeak", problem);
        }
        for (var i = 0; i < p.Tiers.Count; i++)
        {
            var t = p.Tiers[i];
            var at = $"{path}:Tiers:{i}";
            if (t.Input < 0 || t.Output < 0 || t.CachedInput < 0 || t.Reasoning < 0 || t.ThinkingOutput < 0) errors.Add(at, "prices must not be negative.");
            if (t.BelowOutputTokens is { } below)
            {
                if (t.AboveInputTokens < 0) errors.Add($"{at}:AboveInputTokens", "must not be negative.");
                if (below <= 0) errors.Add($"{at}:BelowOutputTokens", "must be a positive token count.");
                continue;
            }
            if (t.AboveInputTokens <= 0) errors.Add($"{at}:AboveInputTokens", "must be a positive token count.");
            var previous = p.Tiers.Take(i).LastOrDefault(x => x.BelowOutputTokens is null);
            if (previous is not null && t.AboveInputTokens <= previous.AboveInputTokens) errors.Add($"{at}:AboveInputTokens", "tiers must be in ascending order of AboveInputTokens.");
        }
    }
}
