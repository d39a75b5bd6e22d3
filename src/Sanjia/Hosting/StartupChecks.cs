using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Hosting;

/// <summary>
/// What the host needs from the machine before it starts, checked up front so that each problem is one line naming
/// the setting and the fix instead of an exception from deep inside start-up.
/// </summary>
internal static partial class StartupChecks
{
    private const string P = SanjiaOptions.Section;

    public static void Validate(SanjiaOptions options, IConfiguration configuration, ConfigErrors errors)
    {
        ListenAddresses.Validate(options.Urls, HasCertificate(configuration, errors), errors);
        CheckDataDir(options.DataDir, errors);
        // The default folder may be absent (no local models yet); one named on purpose must exist.
        if (configuration[$"{P}:ModelsDir"] is { Length: > 0 } && !Directory.Exists(options.ModelsDir))
        {
            errors.Add($"{P}:ModelsDir", $"the folder '{options.ModelsDir}' does not exist. Create it, or correct --models-dir.");
        }
    }

    /// <summary>Logs, once at start, each setting that still works but moved (the warning names its new path).</summary>
    public static void LogWarnings(ILogger logger, ConfigErrors errors)
    {
        foreach (var warning in errors.Warnings)
        {
            LogDeprecated(logger, warning);
        }
    }

    [LoggerMessage(EventId = LogEvents.ConfigurationDeprecated, Level = LogLevel.Warning, Message = "Configuration: {Warning}")]
    private static partial void LogDeprecated(ILogger logger, string warning);

    /// <summary>The data folder must exist (or be creatable) and take new files: the key, the database and the journal live there.</summary>
    private static void CheckDataDir(string dataDir, ConfigErrors errors)
    {
        if (string.IsNullOrWhiteSpace(dataDir)) return; // reported by OptionsValidator
        var probe = Path.Combine(dataDir, $".write-test-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(dataDir);
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            errors.Add($"{P}:DataDir", $"cannot write to '{Path.GetFullPath(dataDir)}' ({ex.Message.TrimEnd('.')}). Choose a writable folder with --data DIR, or give this user write permission.");
        }
    }

    /// <summary>Kestrel's default certificate (<c>Kestrel:Certificates:Default</c>), checked so a wrong path is named.</summary>
    private static bool HasCertificate(IConfiguration configuration, ConfigErrors errors)
    {
        var certificate = configuration.GetSection("Kestrel:Certificates:Default");
        if (certificate["Subject"] is { Length: > 0 })
        {
            return true;
        }
        var ok = false;
        foreach (var key in (string[])["Path", "KeyPath"])
        {
            if (certificate[key] is not { Length: > 0 } file) continue;
            if (!File.Exists(file))
            {
                errors.Add($"Kestrel:Certificates:Default:{key}", $"the file '{file}' does not exist.");
            }
            ok |= key == "Path";
        }
        return ok;
    }
}
