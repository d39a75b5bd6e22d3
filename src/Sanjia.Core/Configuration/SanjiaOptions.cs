namespace Sanjia.Core.Configuration;

/// <summary>
/// The configuration schema, bound from the <c>Sanjia</c> section (appsettings.json, <c>Sanjia__*</c> environment
/// variables, command line). It is only data: <see cref="OptionsValidator"/> checks it and names the exact path of
/// any error, and <see cref="Models.ModelRegistry"/> is the runtime model built from it. See docs/configuration.md.
/// </summary>
public sealed class SanjiaOptions
{
    public const string Section = "Sanjia";

    /// <summary>Where the gateway listens.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:4000";

    /// <summary>SQLite database, generated master key and other state.</summary>
    public string DataDir { get; set; } = "data";

    /// <summary>The admin/master key. When empty, one is generated on first start and kept in the data folder.</summary>
    public string? MasterKey { get; set; }

    /// <summary>Every <c>*.gguf</c> file here is served as <c>local/&lt;file name&gt;</c>.</summary>
    public string ModelsDir { get; set; } = "models";

    /// <summary>Extra GGUF files to serve (the repeatable <c>--model PATH</c> switch).</summary>
    public List<string> ModelFiles { get; set; } = [];

    /// <summary>Register every cloud preset whose API-key environment variable is set.</summary>
    public bool PresetsFromEnvironment { get; set; } = true;

    /// <summary>Request bodies above this size get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Run request code on Kestrel's I/O threads (fewer thread hand-offs). Turn off if a custom stage blocks.</summary>
    public bool InlineScheduling { get; set; } = true;

    /// <summary>
    /// After SIGTERM (or Ctrl-C), seconds that requests in flight get to finish; streams still open then end with the
    /// protocol's error event and their ledger row. Keep it below the supervisor's stop grace (docs/deployment.md).
    /// </summary>
    public double ShutdownDrainSeconds { get; set; } = 20;

    /// <summary>Warn at start when listening on an address other machines can reach (off in the container image).</summary>
    public bool NetworkWarning { get; set; } = true;

    /// <summary>Trust <c>X-Forwarded-*</c> from a reverse proxy (off by default: a client could forge them).</summary>
    public ForwardedHeadersSettings ForwardedHeaders { get; set; } = new();

    public Dictionary<string, ProviderOptions> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Model aliases: the name clients send, mapped to deployments tried in order.</summary>
    public Dictionary<string, AliasOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public LocalOptions Local { get; set; } = new();

    public TimeoutOptions Timeouts { get; set; } = new();

    public RoutingOptions Routing { get; set; } = new();

    public MeteringOptions Metering { get; set; } = new();

    /// <summary>The exact response cache (docs/caching.md); off unless enabled here or per alias.</summary>
    public Caching.CacheOptions Cache { get; set; } = new();

    /// <summary>SQLite files in <see cref="DataDir"/> (default) or a PostgreSQL database (see <see cref="StorageOptions"/>).</summary>
    public StorageOptions Storage { get; set; } = new();

    /// <summary>Budgets' holds and rate limits shared through Redis, or in memory (see <see cref="RedisOptions"/>).</summary>
    public RedisOptions Redis { get; set; } = new();

    /// <summary>Shadow testing per alias (see <see cref="ShadowOptions"/>).</summary>
    public Dictionary<string, ShadowOptions> Shadow { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public LoggingOptions Logging { get; set; } = new();

    /// <summary>Traces by OTLP and content capture (docs/observability.md).</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary><c>/metrics</c>: on, who may read it, the per-key label cap (docs/observability.md).</summary>
    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>Budget alerts: thresholds, webhooks, retries (docs/observability.md).</summary>
    public Alerts.AlertOptions Alerts { get; set; } = new();

    /// <summary>Named guardrail policies and the aliases they apply to (docs/guardrails.md); none by default.</summary>
    public Guardrails.GuardrailOptions Guardrails { get; set; } = new();
}

public sealed class ProviderOptions
{
    /// <summary>The wire protocol: <c>openai</c> (default, any OpenAI-compatible vendor), <c>anthropic</c>, <c>gemini</c>, <c>azure</c> or <c>sdapi</c> (Stable Diffusion web API).</summary>
    public string? Type { get; set; }

    /// <summary>Leave out request parameters this provider cannot honour instead of answering 400 naming them.</summary>
    public bool DropUnsupportedParams { get; set; }

    /// <summary>A built-in preset (openai, deepseek, moonshot, ...) that supplies defaults for the fields below.</summary>
    public string? Preset { get; set; }

    /// <summary>The OpenAI-compatible base URL, up to but excluding <c>/chat/completions</c>.</summary>
    public string? BaseUrl { get; set; }

    public string? ApiKey { get; set; }

    /// <summary>Read the key from this environment variable instead of storing it in config.</summary>
    public string? ApiKeyEnv { get; set; }

    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Models listed by <c>/v1/models</c> as <c>provider/model</c>; any other model id is still forwarded.</summary>
    public List<string>? Models { get; set; }

    public List<string>? EmbeddingModels { get; set; }

    /// <summary>Image models listed by <c>/v1/models</c> (OpenAI-compatible providers; any other id is still forwarded).</summary>
    public List<string>? ImageModels { get; set; }

    /// <summary>Stable Diffusion servers (<c>Type: sdapi</c>): sampling steps sent with each txt2img call (null = the server's default).</summary>
    public int? Steps { get; set; }

    /// <summary>Ask the upstream for a usage chunk on streams the caller did not ask one for (stripped before the caller).</summary>
    public bool? StreamUsage { get; set; }

    /// <summary>Azure OpenAI (<c>Type: azure</c>): the resource endpoint, e.g. <c>https://my-resource.openai.azure.com</c>.</summary>
    public string? Endpoint { get; set; }
    /// <summary>Azure OpenAI: the <c>api-version</c> query value, or <c>v1</c> for the version-less <c>/openai/v1/</c> API.</summary>
    public string? ApiVersion { get; set; }
    /// <summary>Azure OpenAI: model name → deployment name (a model not listed is its own deployment name).</summary>
    public Dictionary<string, string> Deployments { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    public TimeoutOptions? Timeouts { get; set; }
}

public sealed class AliasOptions
{
    /// <summary>The routing strategy by name; empty = <see cref="RoutingOptions.DefaultStrategy"/>.</summary>
    public string? Strategy { get; set; }

    public List<DeploymentOptions> Deployments { get; set; } = [];

    /// <summary>The alias's own response-cache settings over <c>Sanjia:Cache</c> (docs/caching.md).</summary>
    public Caching.AliasCacheOptions? Cache { get; set; }
}

public sealed class DeploymentOptions
{
    /// <summary>A provider name: a key of <c>Providers</c>, a preset enabled from the environment, or <c>local</c>.</summary>
    public string? Provider { get; set; }

    /// <summary>The model name the provider knows.</summary>
    public string? Model { get; set; }

    /// <summary>Share of traffic under the <c>weighted</c> strategy.</summary>
    public double Weight { get; set; } = 1;

    /// <summary>Lower goes first under <c>priority</c> (ties keep the listed order).</summary>
    public int Priority { get; set; }

    /// <summary>Requests in flight at once; beyond this the deployment is skipped. Empty = unlimited.</summary>
    public int? MaxConcurrentRequests { get; set; }

    /// <summary>Context window in tokens; prompts that do not fit skip this deployment. Empty = unknown.</summary>
    public int? ContextWindow { get; set; }

    /// <summary>Prices in US dollars per million tokens, for <c>lowest-cost</c>.</summary>
    public decimal? InputPricePerMillion { get; set; }

    public decimal? OutputPricePerMillion { get; set; }

    public DeploymentTimeoutOptions? Timeouts { get; set; }
}

public sealed class TimeoutOptions
{
    public double ConnectSeconds { get; set; } = 10;

    /// <summary>Until the response headers (streams) or the whole body (non-streaming).</summary>
    public double RequestSeconds { get; set; } = 600;

    /// <summary>
    /// Deprecated: the stream idle limit is the router's (<c>Sanjia:Routing:Timeouts:StreamIdleSeconds</c>, or a
    /// deployment's <c>Timeouts:StreamIdleSeconds</c>). When set it still shortens that limit, with a warning at start.
    /// </summary>
    public double StreamIdleSeconds { get; set; } = 120;
}

public sealed class LocalOptions
{
    /// <summary>Serve the in-process MiniLM embedding model as <c>local/all-minilm-l6-v2</c>.</summary>
    public bool Embeddings { get; set; } = true;

    public int ContextSize { get; set; } = 2048;

    /// <summary>Generations running at once per local model.</summary>
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>Requests waiting for a slot; beyond this they get 429.</summary>
    public int MaxQueue { get; set; } = 16;

    /// <summary>CPU threads per generation; 0 = the runtime's choice.</summary>
    public int Threads { get; set; }

    /// <summary>Output limit when the request sets none.</summary>
    public int DefaultMaxTokens { get; set; } = 512;

    /// <summary>Template used when a model's metadata has none: <c>chatml</c> or <c>plain</c>.</summary>
    public string FallbackTemplate { get; set; } = "chatml";
}

public sealed class ForwardedHeadersSettings
{
    /// <summary>Apply <c>X-Forwarded-For</c>, <c>-Proto</c> and <c>-Host</c> from the proxies below.</summary>
    public bool Enabled { get; set; }

    /// <summary>IP addresses of the proxies whose headers are trusted; with none here or in <see cref="KnownNetworks"/>, loopback.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks (CIDR, e.g. <c>10.0.0.0/8</c>) whose proxies are trusted.</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>Proxies in front of the gateway whose entries are read, nearest first.</summary>
    public int ForwardLimit { get; set; } = 1;
}
