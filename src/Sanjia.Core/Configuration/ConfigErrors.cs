namespace Sanjia.Core.Configuration;

/// <summary>
/// Collects configuration errors, each with the exact configuration path it concerns, and warnings (a setting that
/// still works but moved), which do not stop start-up and are logged once it has started.
/// </summary>
public sealed class ConfigErrors
{
    private readonly List<string> _errors = [];
    private readonly List<string> _warnings = [];

    public IReadOnlyList<string> Errors => _errors;
    public bool Any => _errors.Count > 0;

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Adds an error; the same line twice is kept once (the options and the host both check the listen URLs).</summary>
    public void Add(string path, string message)
    {
        var line = $"{path}: {message}";
        if (!_errors.Contains(line, StringComparer.Ordinal)) _errors.Add(line);
    }

    public void Warn(string path, string message) => _warnings.Add($"{path}: {message}");

    public void ThrowIfAny()
    {
        if (Any)
        {
            throw new ConfigurationException(_errors);
        }
    }
}

public sealed class ConfigurationException(IReadOnlyList<string> errors)
    : Exception("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
