using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Sanjia.Core.Configuration;

/// <summary>
/// Settings that moved and keep working where they were, each with a warning that names the new path. Applied where
/// the configuration is bound (<see cref="ConfigShape.Bind"/>), so start-up and reload read them alike. Only keys
/// present in the configuration count: a default never stands for a setting the user made.
/// </summary>
public static class DeprecatedSettings
{
    private const string P = SanjiaOptions.Section;

    public static void Apply(IConfigurationSection sanjia, SanjiaOptions options, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(sanjia);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        // The stream idle timeout was run by the provider adapters too, besides the router's, and the shorter of the
        // two cut a stream. The router's is the only one now; an old setting still shortens it, as it did.
        var routing = options.Routing.Timeouts;
        if (Seconds(sanjia, "Timeouts:StreamIdleSeconds") is { } global)
        {
            routing.StreamIdleSeconds = Math.Min(routing.StreamIdleSeconds, global);
            errors.Warn($"{P}:Timeouts:StreamIdleSeconds",
                $"is deprecated: the stream idle timeout belongs to the router. Set {P}:Routing:Timeouts:StreamIdleSeconds instead (in force now: {Format(routing.StreamIdleSeconds)} s).");
        }
        foreach (var provider in sanjia.GetSection("Providers").GetChildren())
        {
            if (Seconds(provider, "Timeouts:StreamIdleSeconds") is { } seconds)
            {
                routing.ProviderStreamIdleSeconds[provider.Key] = seconds;
                errors.Warn($"{P}:Providers:{provider.Key}:Timeouts:StreamIdleSeconds",
                    $"is deprecated: the stream idle timeout belongs to the router. Set {P}:Models:<alias>:Deployments:<i>:Timeouts:StreamIdleSeconds on the deployments of '{provider.Key}', or {P}:Routing:Timeouts:StreamIdleSeconds for all, instead.");
            }
        }
    }

    // Shape and range are checked elsewhere (ConfigShape, OptionsValidator); a value that does not parse is theirs to report.
    private static double? Seconds(IConfigurationSection section, string key) =>
        double.TryParse(section[key], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : null;

    private static string Format(double seconds) => seconds.ToString("0.###", CultureInfo.InvariantCulture);
}
