using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Reads a request body whole, refusing (413) anything over the configured limit without buffering it, and (400) a
/// body that is not UTF-8 text (<see cref="JsonText.Check"/>).
/// <para>
/// A client sending a large body usually reads the answer only once it has sent everything; closing the connection on
/// it mid-send resets it, and it never sees the 413 (Node's <c>fetch</c> reports "fetch failed"). So, as nginx's
/// lingering close does, the gateway answers first, then reads and drops the rest of the body, up to
/// <see cref="DrainBytes"/> past the limit and for at most <see cref="DrainTime"/>, and closes the connection after it.
/// </para>
/// </summary>
public static class RequestBody
{
    /// <summary>Kestrel's own limit is this far above the gateway's, for routes that never read their body.</summary>
    public const long DrainAllowance = 1024 * 1024;

    /// <summary>How much of an oversized body is still read and dropped after the 413: 128 MiB (a second or two on loopback, the time on a slow link bounds it).</summary>
    public const long DrainBytes = 128L * 1024 * 1024;

    public static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(10);

    public static async ValueTask<(ReadOnlyMemory<byte> Body, GatewayError? Error)> ReadAsync(HttpContext context, long limit)
    {
        var declared = context.Request.ContentLength;
        if (declared > limit)
        {
            return (default, TooLarge(context, limit, declared));
        }
        if (declared is null && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizes)
        {
            // A body without a declared length (chunked) may turn out too large once reading has begun, when the limit
            // can no longer change: Kestrel's must already leave room for the drain. Ours below still caps what is kept.
            sizes.MaxRequestBodySize = limit + DrainBytes;
        }
        var reader = context.Request.BodyReader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return (default, TooLarge(context, limit, declared: null));
            }
            var buffer = result.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                return (default, TooLarge(context, limit, declared: null));
            }
            if (result.IsCompleted)
            {
                var bytes = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                // Every body is JSON text: bytes that are not UTF-8 (or lone surrogate escapes) are refused here, once,
                // so no parser, translator or vendor ever meets them.
                return JsonText.Check(bytes) is { } textError ? (default, textError) : (bytes, null);
            }
            // Keep everything buffered until the body is complete.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>The 413; unless the body is declared larger than can be drained, the rest of it is read after the answer.</summary>
    private static GatewayError TooLarge(HttpContext context, long limit, long? declared)
    {
        var canDrain = declared is not { } d || d <= limit + DrainBytes;
        var sizes = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (canDrain && sizes is { IsReadOnly: false })
        {
            // Kestrel's limit (ours plus DrainAllowance) would end the drain early; nothing of this body is kept.
            sizes.MaxRequestBodySize = limit + DrainBytes;
        }
        if (canDrain)
        {
            context.Features.Set(new DrainAfterResponse());
        }
        if (HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            context.Response.Headers.Connection = "close";
        }
        return new(GatewayErrorKind.PayloadTooLarge, $"The request body is larger than the limit of {limit} bytes.") { Code = "request_too_large" };
    }

    /// <summary>Set on a request whose body was refused as too large; <see cref="GatewayErrorHandling"/> runs it once the answer is written.</summary>
    public sealed class DrainAfterResponse
    {
        public async Task RunAsync(HttpContext context)
        {
            // The answer goes out whole first, then the rest of the body is read so the client can finish sending.
            await context.Response.CompleteAsync().ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(DrainTime);
            var reader = context.Request.BodyReader;
            long seen = 0;
            try
            {
                while (seen <= DrainBytes)
                {
                    var result = await reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                    seen += result.Buffer.Length;
                    reader.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted)
                    {
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or BadHttpRequestException or IOException)
            {
                // Too slow, too large or gone: the connection closes as it would have without the drain.
            }
        }
    }
}
