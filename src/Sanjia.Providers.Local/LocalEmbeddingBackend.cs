using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;

namespace Sanjia.Providers.Local;

/// <summary>Embeddings from the in-process MiniLM encoder: 384 unit-length dimensions per input, in input order.</summary>
internal sealed class LocalEmbeddingBackend(MiniLmEncoder encoder, ILogger logger) : IEmbeddingBackend
{
    public string Description => "the local MiniLM embedding model";

    public async ValueTask<EmbeddingOutcome> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        var request = call.Request;
        if (!string.Equals(call.UpstreamModel, MiniLmEncoder.ModelName, StringComparison.OrdinalIgnoreCase))
        {
            return GatewayError.ModelNotFound(request.Model);
        }
        if (request.InputIsTokens)
        {
            return GatewayError.Invalid($"{Description} accepts only text 'input', not token arrays.", "input", "unsupported_parameter");
        }
        if (request.Dimensions is { } dims && dims != MiniLmEncoder.Dimensions)
        {
            return GatewayError.Invalid($"{Description} produces {MiniLmEncoder.Dimensions} dimensions; 'dimensions' must be {MiniLmEncoder.Dimensions} or left out.", "dimensions", "unsupported_parameter");
        }
        if (request.Inputs.Count == 0)
        {
            return new EmbeddingResult { Vectors = [], Usage = new TokenUsage(0, 0) };
        }

        var inputs = request.Inputs.ToArray();
        try
        {
            // Inference is CPU-bound native work; keep it off the request thread.
            var (vectors, tokens) = await Task.Run(() => (encoder.Encode(inputs, cancellationToken), encoder.CountTokens(inputs)), cancellationToken).ConfigureAwait(false);
            return new EmbeddingResult { Vectors = vectors, Usage = new TokenUsage(tokens, 0) };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EmbeddingFailed(logger, call.RequestId, ex);
            return new GatewayError(GatewayErrorKind.UpstreamFailed, $"{Description} failed to embed the input.") { Code = UpstreamErrorCodes.LocalEmbeddingFailed };
        }
    }
}
