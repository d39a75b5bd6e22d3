using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;

namespace Sanjia.Api.OpenAi;

/// <summary>
/// <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c> (ids may contain '/'). An id that is not listed but resolves
/// (<c>provider/any-model</c> on a cloud provider) is checked against the vendor's own model list, so a 200 means the
/// model exists (what <c>sanjia compare</c> relies on before a run). The single-model answer also carries the
/// gateway's list price (<c>pricing</c>: currency and per-million input and output rates of the model's first
/// deployment; null when unpriced), for cost estimates before a run.
/// </summary>
public sealed class ModelsEndpoints(GatewayEngine engine, ModelAvailability? availability = null, Pricer? pricer = null)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public Task ListAsync(HttpContext http)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "list"u8);
            w.WriteStartArray("data"u8);
            foreach (var m in engine.Registry.List())
            {
                WriteModel(w, m);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return WriteJsonAsync(http, buffer.WrittenMemory);
    }

    public async Task GetAsync(HttpContext http)
    {
        var id = Uri.UnescapeDataString(http.Request.RouteValues["id"] as string ?? "");
        var info = engine.Registry.List().FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.OrdinalIgnoreCase));
        if (info is null)
        {
            var resolved = engine.Registry.Resolve(id);
            var error = resolved is null ? GatewayError.ModelNotFound(id)
                : availability is null ? null
                : await availability.CheckAsync(id, null, http.RequestAborted).ConfigureAwait(false);
            if (error is not null)
            {
                await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
                return;
            }
            info = new ModelInfo(id, resolved!.Kind, resolved.Deployments.FirstOrDefault()?.Provider.Name ?? "sanjia", engine.Registry.Created);
        }
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteModel(w, info, pricer is null ? null : w =>
            {
                var price = engine.Registry.Resolve(id)?.Deployments.FirstOrDefault() is { } d ? pricer.PriceOf(d) : null;
                if (price is null)
                {
                    w.WriteNull("pricing"u8);
                    return;
                }
                w.WriteStartObject("pricing"u8);
                w.WriteString("currency"u8, price.Currency);
                w.WriteNumber("input_per_million"u8, price.InputPerMTok);
                w.WriteNumber("output_per_million"u8, price.OutputPerMTok);
                w.WriteEndObject();
            });
        }
        await WriteJsonAsync(http, buffer.WrittenMemory).ConfigureAwait(false);
    }

    private static void WriteModel(Utf8JsonWriter w, ModelInfo m, Action<Utf8JsonWriter>? extra = null)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, m.Id);
        w.WriteString("object"u8, "model"u8);
        w.WriteNumber("created"u8, m.Created.ToUnixTimeSeconds());
        w.WriteString("owned_by"u8, m.OwnedBy);
        extra?.Invoke(w);
        w.WriteEndObject();
    }

    private static Task WriteJsonAsync(HttpContext http, ReadOnlyMemory<byte> body)
    {
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = body.Length;
        return http.Response.Body.WriteAsync(body, http.RequestAborted).AsTask();
    }
}
