using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Sanjia.Testing.FakeUpstream;

/// <summary>One request in flight: its context, its record, and the token that ends it (client gone or server stopping).</summary>
internal sealed class Exchange(HttpContext context, RecordedRequest record, CancellationToken aborted)
{
    // Long enough for bytes already flushed to leave the socket before an abort discards Kestrel's pending output.
    private static readonly TimeSpan AbortGrace = TimeSpan.FromMilliseconds(250);

    public HttpContext Context { get; } = context;
    public RecordedRequest Record { get; } = record;
    public CancellationToken Aborted { get; } = aborted;
    public HttpResponse Response => Context.Response;

    public Task DelayAsync(TimeSpan delay) => delay > TimeSpan.Zero ? Task.Delay(delay, Aborted) : Task.CompletedTask;

    /// <summary>Cuts the connection. Marks the record first so the resulting RequestAborted is not taken for the client's doing.</summary>
    public async Task AbortAsync(bool afterOutput)
    {
        if (afterOutput)
        {
            await DelayAsync(AbortGrace).ConfigureAwait(false);
        }
        Record.MarkServerAborted();
        Context.Abort();
    }

    public void ApplyHeaders(FakeBehavior behavior)
    {
        if (behavior.Headers is null) return;
        foreach (var (name, value) in behavior.Headers)
        {
            Response.Headers[name] = value;
        }
    }

    public async Task WriteJsonAsync(int status, byte[] json)
    {
        Response.StatusCode = status;
        Response.ContentType = "application/json";
        Response.ContentLength = json.Length;
        await Response.Body.WriteAsync(json, Aborted).ConfigureAwait(false);
    }

    /// <summary>
    /// A whole JSON answer with the behaviour's fault, as embeddings and images have it: drop = half a body then a cut
    /// connection, malformed = <c>{not json</c>, stall = a pause before the answer.
    /// </summary>
    public async Task WriteCompleteAsync(byte[] body, FakeBehavior behavior)
    {
        switch (behavior.Fault)
        {
            case StreamFault.Drop:
                await WriteHalfJsonThenCutAsync(body).ConfigureAwait(false);
                return;
            case StreamFault.Malformed:
                await WriteJsonAsync(200, "{not json"u8.ToArray()).ConfigureAwait(false);
                return;
            case StreamFault.Stall:
                await DelayAsync(behavior.StallDuration).ConfigureAwait(false);
                break;
        }
        await WriteJsonAsync(200, body).ConfigureAwait(false);
    }

    /// <summary>Half of a JSON body, then a cut connection: the client's read of the content must fail.</summary>
    public async Task WriteHalfJsonThenCutAsync(byte[] json)
    {
        Response.StatusCode = 200;
        Response.ContentType = "application/json";
        Response.ContentLength = json.Length;
        await Response.Body.WriteAsync(json.AsMemory(0, json.Length / 2), Aborted).ConfigureAwait(false);
        await Response.Body.FlushAsync(Aborted).ConfigureAwait(false);
        await AbortAsync(afterOutput: true).ConfigureAwait(false);
    }

    public Task WriteErrorAsync(int status, string message, string? type = null, string? param = null, string? code = null) =>
        WriteJsonAsync(status, OpenAiWire.Error(status, message, type, param, code));

    public void StartEventStream()
    {
        Response.StatusCode = StatusCodes.Status200OK;
        Response.ContentType = "text/event-stream; charset=utf-8";
        Response.Headers.CacheControl = "no-cache";
    }

    /// <summary>Writes one SSE <c>data:</c> event and flushes it, so the client sees each chunk as it is produced.</summary>
    public async Task WriteEventAsync(ReadOnlyMemory<byte> payload, bool countAsChunk = true)
    {
        var writer = Response.BodyWriter;
        writer.Write("data: "u8);
        writer.Write(payload.Span);
        writer.Write("\n\n"u8);
        await writer.FlushAsync(Aborted).ConfigureAwait(false);
        if (countAsChunk) Record.CountChunk();
    }
}

/// <summary>OpenAI's wire shapes that more than one route writes.</summary>
internal static class OpenAiWire
{
    // Raw UTF-8 and \" as the real API writes them, so recorded-wire tests read naturally; nothing here is HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>{"error":{"message","type","param","code"}}</c> with the type and code OpenAI uses for the status.</summary>
    public static byte[] Error(int status, string message, string? type = null, string? param = null, string? code = null)
    {
        var (defaultType, defaultCode) = status switch
        {
            401 => ("invalid_request_error", "invalid_api_key"),
            403 => ("invalid_request_error", "unsupported_country_region_territory"),
            404 => ("invalid_request_error", (string?)"model_not_found"),
            429 => ("requests", "rate_limit_exceeded"),
            >= 500 => ("server_error", null),
            _ => ("invalid_request_error", null),
        };
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type ?? defaultType);
            WriteStringOrNull(w, "param", param);
            WriteStringOrNull(w, "code", code ?? defaultCode);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    public static string DefaultErrorMessage(int status) => status switch
    {
        400 => "The request was invalid.",
        401 => "Incorrect API key provided.",
        403 => "You are not allowed to use this model.",
        404 => "The model does not exist or you do not have access to it.",
        408 => "The request timed out.",
        429 => "Rate limit reached for requests. Please try again later.",
        500 => "The server had an error while processing your request. Sorry about that!",
        502 => "Bad gateway.",
        503 => "The engine is currently overloaded, please try again later.",
        504 => "The upstream timed out.",
        _ => $"The fake upstream answered {status}.",
    };

    public static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }

    /// <summary>Counts whitespace-separated words, the fake's stand-in for a tokenizer.</summary>
    public static int CountWords(string text)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in text)
        {
            var isSpace = char.IsWhiteSpace(c);
            if (!isSpace && !inWord) count++;
            inWord = !isSpace;
        }
        return count;
    }
}
