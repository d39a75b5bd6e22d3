using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Keys;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;
using Sanjia.Core.Json;

namespace Sanjia.Api.OpenAi;

/// <summary>
/// <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c> (ids may contain '/'): only the models the calling key may use
/// (its <c>allowed_models</c>), each with what OpenRouter's list carries as extra fields OpenAI clients ignore:
/// <c>context_length</c> when known and <c>pricing</c> (per-token <c>prompt</c>/<c>completion</c> prices as decimal
/// strings, plus <c>currency</c>; null for an unpriced model). An alias shows its first deployment's. An id that is
/// not listed but resolves (<c>provider/any-model</c> on a cloud provider) is checked against the vendor's own model
/// list, so a 200 means the model exists (what <c>sanjia compare</c> relies on before a run).
/// </summary>
public sealed class ModelsEndpoints(GatewayEngine engine, VirtualKeyCache keys, Pricer? pricer, ModelAvailability? availability = null)
{
    private const decimal TokensPerPrice = 1_000_000m;


    public Task ListAsync(HttpContext http)
    {
        var key = CallerKey(http);
        var registry = engine.Registry;
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "list"u8);
            w.WriteStartArray("data"u8);
            foreach (var m in registry.List())
            {
                if (key is null || key.MayUse(m.Id))
                {
                    WriteModel(w, m, registry.Resolve(m.Id));
                }
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return WriteJsonAsync(http, buffer.WrittenMemory);
    }

    public async Task GetAsync(HttpContext http)
    {
        var id = Uri.UnescapeDataString(http.Request.RouteValues["id"] as string ?? "");
        var registry = engine.Registry;
        var info = registry.List().FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.OrdinalIgnoreCase));
        // Resolvable ids (e.g. provider/any-model on a cloud provider) exist even when not listed.
        var resolved = registry.Resolve(info?.Id ?? id);
        // A model the key may not use does not exist for it, as in the list.
        var error = resolved is null || CallerKey(http) is { } key && !key.MayUse(info?.Id ?? id) ? GatewayError.ModelNotFound(id)
            : info is null && availability is not null ? await availability.CheckAsync(id, null, http.RequestAborted).ConfigureAwait(false)
            : null;
        if (error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        info ??= new ModelInfo(id, resolved!.Kind, resolved.Deployments.FirstOrDefault()?.Provider.Name ?? "sanjia", registry.Created);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            WriteModel(w, info, resolved);
        }
        await WriteJsonAsync(http, buffer.WrittenMemory).ConfigureAwait(false);
    }

    /// <summary>The virtual key calling, or null for the master key (which may use every model).</summary>
    private VirtualKey? CallerKey(HttpContext http) =>
        http.Features.Get<Caller>() is { IsMaster: false, KeyId: { } id } ? keys.ById(id) : null;

    private void WriteModel(Utf8JsonWriter w, ModelInfo m, ResolvedModel? resolved)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, m.Id);
        w.WriteString("object"u8, "model"u8);
        w.WriteNumber("created"u8, m.Created.ToUnixTimeSeconds());
        w.WriteString("owned_by"u8, m.OwnedBy);
        var first = resolved is { Deployments.Count: > 0 } r ? r.Deployments[0] : null;
        var price = first is null ? null : pricer?.PriceOf(first);
        // Configured, else what the provider knows (a local model's context), else the catalogue's.
        if ((first?.Settings.ContextWindow ?? (first?.Provider as IKnowsContextWindow)?.ContextWindowOf(first!.UpstreamModel) ?? price?.ContextWindow) is { } context)
        {
            w.WriteNumber("context_length"u8, context);
        }
        if (price is null)
        {
            w.WriteNull("pricing"u8);
        }
        else
        {
            // OpenRouter's shape: the price of one token as a decimal string (exact; no float rounding of money).
            w.WriteStartObject("pricing"u8);
            w.WriteString("prompt"u8, PerToken(price.InputPerMTok));
            w.WriteString("completion"u8, PerToken(price.OutputPerMTok));
            w.WriteString("currency"u8, price.Currency);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static string PerToken(decimal perMillion) =>
        (perMillion / TokensPerPrice).ToString("0.############################", System.Globalization.CultureInfo.InvariantCulture);

    private static Task WriteJsonAsync(HttpContext http, ReadOnlyMemory<byte> body)
    {
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = body.Length;
        return http.Response.Body.WriteAsync(body, http.RequestAborted).AsTask();
    }
}
