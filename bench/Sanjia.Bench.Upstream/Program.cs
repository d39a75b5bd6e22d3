using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// A fake OpenAI-compatible upstream that answers at once, for load runs. It must never be the bottleneck: every
// response body is built once at start-up and written from a cached array; the only per-request work is reading
// the request body and finding `stream` and `stream_options.include_usage` in it. It also takes OTLP/HTTP exports
// (POST /v1/traces, /v1/metrics, /v1/logs) and drops them, as a local collector would accept them.
//   dotnet Sanjia.Bench.Upstream.dll [--port 0] [--chunks 20] [--chunk-delay-ms 0]
var port = 0;
var chunks = 20;
var chunkDelayMs = 0;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--port": port = value; break;
        case "--chunks": chunks = value; break;
        case "--chunk-delay-ms": chunkDelayMs = value; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = args });
builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    k.Limits.MaxConcurrentConnections = null;
    k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http1);
});
var app = builder.Build();
var bodies = new Bodies(chunks);
var delay = TimeSpan.FromMilliseconds(chunkDelayMs);

app.Run(async http =>
{
    if (HttpMethods.IsPost(http.Request.Method) && http.Request.Path.Value is "/v1/traces" or "/v1/metrics" or "/v1/logs")
    {
        // A local OTLP/HTTP sink for the gateway's exporter (--gateway-args with {upstream}): the body is read and
        // dropped; an empty protobuf body is a full success.
        await http.Request.Body.CopyToAsync(Stream.Null, http.RequestAborted);
        http.Response.ContentType = "application/x-protobuf";
        return;
    }
    if (!HttpMethods.IsPost(http.Request.Method) || http.Request.Path.Value != "/v1/chat/completions")
    {
        http.Response.StatusCode = 404;
        return;
    }
    var (stream, includeUsage) = await ReadFlagsAsync(http.Request.BodyReader, http.RequestAborted);
    var response = http.Response;
    if (!stream)
    {
        response.ContentType = "application/json";
        response.ContentLength = bodies.Completion.Length;
        await response.BodyWriter.WriteAsync(bodies.Completion, http.RequestAborted);
        return;
    }
    response.ContentType = "text/event-stream";
    response.Headers.CacheControl = "no-cache";
    var writer = response.BodyWriter;
    for (var i = 0; i < bodies.Chunks.Length; i++)
    {
        if (i > 0 && delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, http.RequestAborted);
        }
        await writer.WriteAsync(bodies.Chunks[i], http.RequestAborted);
    }
    await writer.WriteAsync(includeUsage ? bodies.UsageAndDone : bodies.Done, http.RequestAborted);
});

await app.StartAsync();
// The load harness reads this line to learn the port.
Console.WriteLine("listening on " + app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());
await app.WaitForShutdownAsync();
return 0;

static async ValueTask<(bool Stream, bool IncludeUsage)> ReadFlagsAsync(PipeReader reader, CancellationToken ct)
{
    while (true)
    {
        var result = await reader.ReadAsync(ct);
        if (!result.IsCompleted)
        {
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            continue;
        }
        var flags = Scan(result.Buffer);
        reader.AdvanceTo(result.Buffer.End);
        return flags;
    }
}

static (bool Stream, bool IncludeUsage) Scan(ReadOnlySequence<byte> body)
{
    bool stream = false, includeUsage = false;
    try
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return (false, false);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("stream"u8))
            {
                reader.Read();
                stream = reader.TokenType == JsonTokenType.True;
            }
            else if (reader.ValueTextEquals("stream_options"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject) { reader.Skip(); continue; }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isUsage = reader.ValueTextEquals("include_usage"u8);
                    reader.Read();
                    if (isUsage) includeUsage = reader.TokenType == JsonTokenType.True;
                    else reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }
    catch (JsonException)
    {
        // A broken body still gets the canned answer; the fake is not a validator.
    }
    return (stream, includeUsage);
}

/// <summary>Every byte the fake ever sends, built once.</summary>
internal sealed class Bodies
{
    private const string Id = "chatcmpl-bench0000000000000000000000";
    private const long Created = 1_750_000_000;

    public Bodies(int chunks)
    {
        Completion = Utf8("""{"id":"@ID","object":"chat.completion","created":@CREATED,"model":"fake","system_fingerprint":null,"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream. This answer is fixed.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}""".Replace("@ID", Id, StringComparison.Ordinal).Replace("@CREATED", Created.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Chunks = new byte[chunks][];
        for (var i = 0; i < chunks; i++)
        {
            var delta = i == 0 ? """{"role":"assistant","content":""}""" : $$$"""{"content":"tok{{{i}}} "}""";
            var finish = i == chunks - 1 ? "\"stop\"" : "null";
            Chunks[i] = Utf8($$$"""data: {"id":"{{{Id}}}","object":"chat.completion.chunk","created":{{{Created}}},"model":"fake","choices":[{"index":0,"delta":{{{delta}}},"logprobs":null,"finish_reason":{{{finish}}}}]}""" + "\n\n");
        }
        Done = Utf8("data: [DONE]\n\n");
        UsageAndDone = Utf8($$$"""data: {"id":"{{{Id}}}","object":"chat.completion.chunk","created":{{{Created}}},"model":"fake","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":{{{chunks}}},"total_tokens":{{{12 + chunks}}}}}""" + "\n\ndata: [DONE]\n\n");
    }

    public byte[] Completion { get; }
    public byte[][] Chunks { get; }
    public byte[] Done { get; }
    public byte[] UsageAndDone { get; }

    private static byte[] Utf8(string s) => System.Text.Encoding.UTF8.GetBytes(s);
}
