using System.Text.Json.Serialization;

namespace Sanjia.Core.Configuration;

/// <summary>Prices, budgets and the ledger journal (the <c>Sanjia:Metering</c> section). See docs/metering.md.</summary>
public sealed class MeteringOptions
{
    /// <summary>Price overrides per deployment id (<c>provider/model</c>); they win over every catalogue.</summary>
    public Dictionary<string, PriceOptions> Prices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>An extra catalogue in the project's format (e.g. written by <c>sanjia prices import</c>). Default: <c>DataDir/prices.json</c> when present.</summary>
    public string? PricesFile { get; set; }

    /// <summary>What in-process and self-hosted (ollama, vLLM, llama.cpp) models cost; zero unless set.</summary>
    public PriceOptions? LocalCompute { get; set; }

    /// <summary>Whether a key or team with a budget may call a model whose price is unknown.</summary>
    public bool AllowUnpricedWithBudget { get; set; }

    /// <summary>Output tokens reserved when neither the request nor the catalogue gives a limit.</summary>
    public int DefaultMaxOutputTokens { get; set; } = 8192;

    /// <summary>Conversion rates: <c>ExchangeRates:CNY:USD = 0.14</c> means 1 CNY = 0.14 USD.</summary>
    public Dictionary<string, Dictionary<string, decimal>> ExchangeRates { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// fsync the ledger journal before answering, so entries also survive power loss or a kernel crash. Off, the
    /// journal line still reaches the kernel before the response completes, which is what surviving a killed
    /// process (SIGKILL, OOM kill, crash) needs, at a fraction of the latency.
    /// </summary>
    public bool JournalFsync { get; set; }
}

public sealed class PriceOptions
{
    public string Currency { get; set; } = "USD";
    /// <summary>Per million input tokens.</summary>
    public decimal Input { get; set; }
    public decimal? CachedInput { get; set; }
    /// <summary>Per million input tokens written to the vendor's prompt cache (Anthropic, MiniMax); unset = the input price.</summary>
    public decimal? CacheWrite { get; set; }
    public decimal Output { get; set; }
    public decimal? Reasoning { get; set; }
    /// <summary>Output price of a thinking-mode answer (all its output tokens), where the vendor charges more for it.</summary>
    public decimal? ThinkingOutput { get; set; }
    /// <summary>Prices by the request's input length: a request above a tier's threshold pays that tier's rates on every token.</summary>
    public List<PriceTierOptions> Tiers { get; set; } = [];
    /// <summary>Cheaper rates outside peak hours (the rates above are the peak ones).</summary>
    public OffPeakOptions? OffPeak { get; set; }
    public int? ContextWindow { get; set; }
    public int? MaxOutputTokens { get; set; }
    /// <summary>Image models: the price of one image by <c>quality/size</c>, <c>size</c>, <c>quality</c> or <c>*</c> (e.g. a local Stable Diffusion server's).</summary>
    public Dictionary<string, decimal>? PerImage { get; set; }
}

/// <summary>An input-length tier, in configuration and in the catalogue file (which names its fields in snake case).</summary>
public sealed class PriceTierOptions
{
    /// <summary>The tier applies when the request's input tokens exceed this.</summary>
    [JsonPropertyName("above_input_tokens")] public long AboveInputTokens { get; set; }
    /// <summary>Optional output-length band: the tier applies only to answers with fewer output tokens than this.</summary>
    [JsonPropertyName("below_output_tokens")] public long? BelowOutputTokens { get; set; }
    /// <summary>The boundary as the vendor's page writes it (e.g. "32K"), kept for review; not used in pricing.</summary>
    [JsonPropertyName("page_boundary")] public string? PageBoundary { get; set; }
    [JsonPropertyName("input")] public decimal Input { get; set; }
    [JsonPropertyName("cached_input")] public decimal? CachedInput { get; set; }
    [JsonPropertyName("cache_write")] public decimal? CacheWrite { get; set; }
    [JsonPropertyName("output")] public decimal Output { get; set; }
    [JsonPropertyName("reasoning")] public decimal? Reasoning { get; set; }
    [JsonPropertyName("thinking_output")] public decimal? ThinkingOutput { get; set; }
}

/// <summary>Off-peak rates, in configuration and in the catalogue file; the price's own rates are the peak ones.</summary>
public sealed class OffPeakOptions
{
    [JsonPropertyName("input")] public decimal Input { get; set; }
    [JsonPropertyName("cached_input")] public decimal? CachedInput { get; set; }
    [JsonPropertyName("output")] public decimal Output { get; set; }
    /// <summary>Days the peak rates apply, in UTC: <c>Mon</c> ... <c>Sun</c>.</summary>
    [JsonPropertyName("peak_days")] public List<string> PeakDays { get; set; } = [];
    /// <summary>Peak windows in UTC time of day, <c>HH:mm-HH:mm</c> (end exclusive).</summary>
    [JsonPropertyName("peak_hours_utc")] public List<string> PeakHoursUtc { get; set; } = [];
}
