using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Reads a request body whole, refusing (413) anything over the configured limit before buffering it, and (400) a body
/// that is not UTF-8 text (<see cref="JsonText.Check"/>).
/// </summary>
public static class RequestBody
{
    /// <summary>How far past the limit a body is still read (and discarded) so that the 413 reaches the client.</summary>
    public const long DrainAllowance = 1024 * 1024;

    public static async ValueTask<(ReadOnlyMemory<byte> Body, GatewayError? Error)> ReadAsync(HttpContext context, long limit)
    {
        var declared = context.Request.ContentLength;
        if (declared > limit)
        {
            return (default, TooLarge(limit));
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
                return (default, TooLarge(limit));
            }
            var buffer = result.Buffer;
            if (buffer.Length > limit)
            {
                // Read (and drop) a modest overrun so the client, still sending, gets to read the 413 rather than
                // a reset connection. Kestrel's own limit (the drain allowance above ours) ends anything larger.
                var seen = buffer.Length;
                reader.AdvanceTo(buffer.End);
                try
                {
                    while (!result.IsCompleted && seen <= limit + DrainAllowance)
                    {
                        result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                        seen += result.Buffer.Length;
                        reader.AdvanceTo(result.Buffer.End);
                    }
                }
                catch (BadHttpRequestException)
                {
                }
                return (default, TooLarge(limit));
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

    private static GatewayError TooLarge(long limit) =>
        new(GatewayErrorKind.PayloadTooLarge, $"The request body is larger than the limit of {limit} bytes.") { Code = "request_too_large" };
}
