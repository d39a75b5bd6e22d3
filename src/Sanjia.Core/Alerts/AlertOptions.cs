using Sanjia.Core.Configuration;

namespace Sanjia.Core.Alerts;

/// <summary>
/// <c>Sanjia:Alerts</c>: budget alerts (docs/observability.md). Thresholds in percent of each budget, checked every
/// <see cref="IntervalSeconds"/> off the request path; each crossing is recorded once per budget period and sent to
/// every webhook, signed as Standard Webhooks 1.0 describes when a secret is set, with retries.
/// </summary>
public sealed class AlertOptions
{
    /// <summary>The thresholds when a budget names none of its own (<c>budget.alert_at</c>).</summary>
    public static readonly IReadOnlyList<int> DefaultPercents = [80, 100];

    /// <summary>Off: no check runs, no alert is recorded or sent (budgets still refuse as before).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often budgets are compared with their thresholds. A refusal for a budget triggers a check at once.</summary>
    public double IntervalSeconds { get; set; } = 15;

    /// <summary>Default thresholds in percent (1-100) for budgets without their own; unset = 80 and 100.</summary>
    public List<int>? BudgetPercents { get; set; }

    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>Attempts per webhook and alert, the first included; retried on a network error, a timeout, 408, 429 and 5xx.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait before the first retry; it doubles after each (2, 4, 8, 16 s by default).</summary>
    public double RetryBaseSeconds { get; set; } = 2;

    /// <summary>How long one attempt may take.</summary>
    public double TimeoutSeconds { get; set; } = 10;

    public IReadOnlyList<int> Percents => BudgetPercents is { Count: > 0 } p ? p : DefaultPercents;

    public static void Validate(AlertOptions options, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        const string at = "Sanjia:Alerts";
        if (options.IntervalSeconds <= 0) errors.Add($"{at}:IntervalSeconds", "must be more than 0.");
        if (options.MaxAttempts < 1) errors.Add($"{at}:MaxAttempts", "must be at least 1.");
        if (options.RetryBaseSeconds < 0) errors.Add($"{at}:RetryBaseSeconds", "must not be negative.");
        if (options.TimeoutSeconds <= 0) errors.Add($"{at}:TimeoutSeconds", "must be more than 0.");
        for (var i = 0; i < (options.BudgetPercents?.Count ?? 0); i++)
        {
            if (options.BudgetPercents![i] is < 1 or > 100) errors.Add($"{at}:BudgetPercents:{i}", "must be a percentage from 1 to 100.");
        }
        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            var w = options.Webhooks[i];
            if (!Uri.TryCreate(w.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"{at}:Webhooks:{i}:Url", "must be an absolute http or https URL.");
            }
            if (w.Secret is { Length: > 0 } s && WebhookSigner.KeyOf(s) is null)
            {
                errors.Add($"{at}:Webhooks:{i}:Secret", "starts with whsec_ but the rest is not base64; use whsec_<base64> as Standard Webhooks secrets are written, or any other string (used as UTF-8 bytes).");
            }
        }
    }
}

/// <summary>One receiver of budget alerts.</summary>
public sealed class WebhookOptions
{
    public string? Url { get; set; }

    /// <summary>
    /// Signs each delivery (<c>webhook-signature</c>): <c>whsec_&lt;base64&gt;</c> as Standard Webhooks writes its
    /// secrets (the key is the decoded bytes), or any other string (the key is its UTF-8 bytes). Empty: unsigned.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>Extra request headers (e.g. a receiver's own token).</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
