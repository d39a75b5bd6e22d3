using System.Globalization;

namespace Sanjia.Bench.Load;

/// <summary><c>--name value</c> pairs after the mode; one-letter names also as <c>-n value</c>.</summary>
public sealed class Args(string[] args)
{
    public string? Get(string name)
    {
        for (var i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--" + name || (name.Length == 1 && args[i] == "-" + name)) return args[i + 1];
        }
        return null;
    }

    public string Require(string name) => Get(name) ?? throw new ArgumentException($"--{name} is required.");

    public int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public bool Flag(string name) => args.Contains("--" + name);
}
