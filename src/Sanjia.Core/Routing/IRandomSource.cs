namespace Sanjia.Core.Routing;

/// <summary>Randomness for routing decisions, injected so tests can script it.</summary>
public interface IRandomSource
{
    /// <summary>A number in [0, 1).</summary>
    double NextDouble();

    /// <summary>An integer in [0, <paramref name="maxExclusive"/>).</summary>
    int Next(int maxExclusive);
}

public sealed class SystemRandomSource : IRandomSource
{
    public static readonly SystemRandomSource Instance = new();

    public double NextDouble() => Random.Shared.NextDouble();

    public int Next(int maxExclusive) => Random.Shared.Next(maxExclusive);
}
