namespace Sanjia.Core.Configuration;

/// <summary>Traces (<c>Sanjia:Telemetry</c>); the OTLP exporter itself is set by the standard <c>OTEL_*</c> variables (docs/observability.md).</summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// Export traces (a server span per request, a client span per upstream attempt) by OTLP whenever an endpoint is set
    /// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>); false turns them off.
    /// </summary>
    public bool Traces { get; set; } = true;

    /// <summary>Put the request's messages into the server span (<c>gen_ai.input.messages</c>). Off: they are your users' data.</summary>
    public bool CaptureContent { get; set; }
}

/// <summary><c>/metrics</c> in Prometheus format (<c>Sanjia:Metrics</c>).</summary>
public sealed class MetricsOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>A token that may read <c>/metrics</c> (and nothing else), besides the master key. Empty: the master key only.</summary>
    public string? Token { get; set; }

    /// <summary>Networks (CIDR, e.g. <c>10.0.0.0/8</c>, or single addresses) that may read <c>/metrics</c> without a key.</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>Distinct key ids (and, apart, team ids) kept as labels of the per-key metrics; later ones are counted as <c>other</c>.</summary>
    public int MaxKeyLabels { get; set; } = 100;
}
