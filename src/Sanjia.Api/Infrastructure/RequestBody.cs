using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;

namespace Sanjia.Api.Infrastructure;

/// <summary>Reads a request body whole, refusing (413) anything over the configured limit before buffering it.</summary>
public static class RequestBody
{
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
                reader.AdvanceTo(buffer.Start, buffer.End);
                return (default, TooLarge(limit));
            }
            if (result.IsCompleted)
            {
                var bytes = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                return (bytes, null);
            }
            // Keep everything buffered until the body is complete.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static GatewayError TooLarge(long limit) =>
        new(GatewayErrorKind.PayloadTooLarge, $"The request body is larger than the limit of {limit} bytes.") { Code = "request_too_large" };
}
