using Sanjia.Core.Configuration;

namespace Sanjia.Core.Routing;

/// <summary>The routing options in force; a configuration reload replaces them whole.</summary>
public sealed class RoutingSettings(RoutingOptions initial)
{
    private volatile RoutingOptions _current = initial;

    public RoutingOptions Current
    {
        get => _current;
        set => _current = value;
    }
}
