using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.OpenAi;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c> (ids may contain '/').</summary>
public sealed class ModelsEndpoints(GatewayEngine engine)
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

    public Task GetAsync(HttpContext http)
    {
        var id = Uri.UnescapeDataString(http.Request.RouteValues["id"] as string ?? "");
        var info = engine.Registry.List().FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.OrdinalIgnoreCase));
        if (info is null)
        {
            // Resolvable ids (e.g. provider/any-model on a cloud provider) exist even when not listed.
            var resolved = engine.Registry.Resolve(id);
            if (resolved is null)
            {
                return OpenAiErrorWriter.WriteAsync(http, GatewayError.ModelNotFound(id));
            }
            info = new ModelInfo(id, resolved.Kind, resolved.Deployments.FirstOrDefault()?.Provider.Name ?? "sanjia", engine.Registry.Created);
        }
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteModel(w, info);
        }
        return WriteJsonAsync(http, buffer.WrittenMemory);
    }

    private static void WriteModel(Utf8JsonWriter w, ModelInfo m)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, m.Id);
        w.WriteString("object"u8, "model"u8);
        w.WriteNumber("created"u8, m.Created.ToUnixTimeSeconds());
        w.WriteString("owned_by"u8, m.OwnedBy);
        w.WriteEndObject();
    }

    private static Task WriteJsonAsync(HttpContext http, ReadOnlyMemory<byte> body)
    {
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = body.Length;
        return http.Response.Body.WriteAsync(body, http.RequestAborted).AsTask();
    }
}
