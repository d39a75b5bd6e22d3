using Sanjia.Core.Configuration;

namespace Sanjia.Core.Pricing;

/// <summary>Converts only with a configured rate: currencies are never added together on a guess.</summary>
public sealed class CurrencyConverter(MeteringOptions options)
{
    public bool TryConvert(decimal amount, string from, string to, out decimal converted)
    {
        if (string.Equals(from, to, StringComparison.OrdinalIgnoreCase))
        {
            converted = amount;
            return true;
        }
        if (options.ExchangeRates.TryGetValue(from, out var rates) && rates.TryGetValue(to, out var rate))
        {
            converted = amount * rate;
            return true;
        }
        if (options.ExchangeRates.TryGetValue(to, out var back) && back.TryGetValue(from, out var inverse) && inverse != 0)
        {
            converted = amount / inverse;
            return true;
        }
        converted = 0;
        return false;
    }
}
