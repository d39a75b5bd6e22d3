using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Routing;

/// <summary>
/// The routing options the router starts with, for models resolved outside a configuration snapshot (tools, tests).
/// In the host every model carries its snapshot's options (<see cref="Models.ResolvedModel.Routing"/>), which a reload
/// replaces together with the models.
/// </summary>
public sealed class RoutingSettings(RoutingOptions initial)
{
    public RoutingOptions Current { get; } = initial;

    /// <summary>
    /// Cancelled when the shutdown drain time is over: every stream still open then ends with a
    /// <see cref="GatewayErrorKind.Unavailable"/> error (its error event and ledger row) instead of a cut connection.
    /// </summary>
    public CancellationToken DrainExpired { get; set; }
}
