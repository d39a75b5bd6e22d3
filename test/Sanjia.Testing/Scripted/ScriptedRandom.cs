using Sanjia.Core.Routing;

namespace Sanjia.Testing;

/// <summary>Replays scripted draws (cycling), so a test states exactly which random numbers the code under test sees.</summary>
public sealed class ScriptedRandom(params double[] draws) : IRandomSource
{
    private int _i;

    /// <summary>How many draws were taken.</summary>
    public int Taken => _i;

    public double NextDouble() => draws[_i++ % draws.Length];

    public int Next(int maxExclusive) => (int)(NextDouble() * maxExclusive);
}

/// <summary>A reproducible random source, for distribution tests.</summary>
public sealed class SeededRandom(int seed) : IRandomSource
{
    private readonly Random _r = new(seed);

    public double NextDouble() => _r.NextDouble();

    public int Next(int maxExclusive) => _r.Next(maxExclusive);
}
