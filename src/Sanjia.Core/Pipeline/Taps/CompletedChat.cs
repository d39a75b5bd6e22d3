using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Pipeline.Taps;

/// <summary>A successful chat exchange, handed to taps once the caller has it: the caller's request and what came back.</summary>
public sealed record CompletedChat
{
    public required string RequestId { get; init; }
    public required string Endpoint { get; init; }
    /// <summary>The model id the caller sent (alias or <c>provider/model</c>).</summary>
    public required string Model { get; init; }
    public string? Deployment { get; init; }
    /// <summary>The deployment's provider and upstream model, for pricing (see <see cref="Pricing.Pricer"/>).</summary>
    public string? Provider { get; init; }
    public string? UpstreamModel { get; init; }
    public string? KeyId { get; init; }
    public string? TeamId { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required ReadOnlyMemory<byte> RequestBody { get; init; }
    public bool Stream { get; init; }
    public TokenUsage Usage { get; init; }
    public double LatencyMs { get; init; }

    /// <summary>A complete answer's JSON body (non-streaming), else null.</summary>
    public ReadOnlyMemory<byte>? ResponseBody { get; init; }

    /// <summary>A stream's concatenated text (streaming), else null.</summary>
    public string? StreamedText { get; init; }

    /// <summary>The answer's text: read from the body on demand, so the request path never parses it.</summary>
    public string ResponseText()
    {
        if (StreamedText is not null) return StreamedText;
        var text = new StringBuilder();
        if (ResponseBody is { } body) ChunkScanner.Scan(body.Span, text);
        return text.ToString();
    }
}

/// <summary>
/// Something that wants a copy of successful exchanges (shadow testing, body logging). <see cref="Wants"/> is asked on
/// the request path and must be cheap; <see cref="Completed"/> must not block (enqueue and return).
/// </summary>
public interface IChatTap
{
    bool Wants(ChatContext context);

    void Completed(CompletedChat chat);
}
