namespace Sanjia.Core.Configuration;

/// <summary>Collects configuration errors, each with the exact configuration path it concerns.</summary>
public sealed class ConfigErrors
{
    private readonly List<string> _errors = [];

    public IReadOnlyList<string> Errors => _errors;
    public bool Any => _errors.Count > 0;

    public void Add(string path, string message) => _errors.Add($"{path}: {message}");

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
