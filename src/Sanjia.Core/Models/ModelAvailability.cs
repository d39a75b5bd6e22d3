using System.Collections.Concurrent;
using Sanjia.Abstractions;

namespace Sanjia.Core.Models;

/// <summary>A provider that can ask its vendor which models it serves (OpenAI-style <c>GET /models</c>).</summary>
public interface IListsModels
{
    /// <summary>
    /// The vendor's model ids; null when the vendor has no listing (404 or 405). Throws <see cref="HttpRequestException"/>
    /// (or a timeout) when the listing exists but could not be read.
    /// </summary>
    Task<IReadOnlyList<string>?> ListModelsAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Whether a model id names something the gateway can really serve, before any traffic is spent on it: aliases and
/// configured models are known; <c>provider/model</c> on a cloud provider is checked against the vendor's live model
/// list where it has one, else against the configured list. Used by promotion, comparisons (<c>/admin/compare</c>)
/// and <c>GET /v1/models/{id}</c> (what <c>sanjia compare</c> asks before a run). Vendor lists are kept for
/// <see cref="CacheFor"/>; a vendor whose listing cannot be read right now does not block (the model is let through).
/// </summary>
public sealed class ModelAvailability(Func<ModelRegistry> registry, TimeProvider time)
{
    /// <summary>How long a vendor's list is reused (one listing call per provider per minute at most).</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);

    /// <summary>How long a listing call may take before the model is let through unchecked.</summary>
    public static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (IReadOnlyList<string>? Models, DateTimeOffset At)> _lists = new(StringComparer.Ordinal);

    /// <summary>Null when <paramref name="model"/> can be served (as <paramref name="kind"/> when given); else the error naming it.</summary>
    public async Task<GatewayError?> CheckAsync(string model, ModelKind? kind, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        var models = registry();
        var resolved = models.Resolve(model);
        if (resolved is null) return GatewayError.ModelNotFound(model);
        if (kind is { } k && resolved.Kind != k)
        {
            return GatewayError.Invalid($"'{model}' is {resolved.Kind.WithArticle()}, not {k.WithArticle()}.", "model", "invalid_model_kind");
        }
        if (resolved.IsAlias) return null;
        var deployment = resolved.Deployments[0];
        if (deployment.Provider.Models.Any(m => m.Model == deployment.UpstreamModel)) return null;

        IReadOnlyList<string>? live;
        if (deployment.Provider is not IListsModels lister)
        {
            live = null;
        }
        else
        {
            try
            {
                live = await ListAsync(deployment.Provider.Name, lister, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
            {
                return null; // The vendor's list is unreadable right now: a check must not turn a vendor hiccup into "not found".
            }
        }
        if (live is not null && live.Contains(deployment.UpstreamModel, StringComparer.Ordinal)) return null;
        return new GatewayError(GatewayErrorKind.ModelNotFound, live is null
            ? $"The model '{model}' is not in provider '{deployment.Provider.Name}''s configured models, and the provider has no model list to check it against."
            : $"The model '{model}' does not exist: provider '{deployment.Provider.Name}' does not list '{deployment.UpstreamModel}' in its GET /models ({live.Count} models).")
        { Param = "model", Code = "model_not_found" };
    }

    private async Task<IReadOnlyList<string>?> ListAsync(string provider, IListsModels lister, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_lists.TryGetValue(provider, out var cached) && now - cached.At < CacheFor) return cached.Models;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ListTimeout);
        var list = await lister.ListModelsAsync(timeout.Token).ConfigureAwait(false);
        _lists[provider] = (list, now);
        return list;
    }
}
