using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Pipeline.Taps;

/// <summary>
/// Hands a copy of each successful exchange to the taps that want it. A complete answer is handed over as the engine
/// returns it (the taps only enqueue); a stream when it has ended normally, after its last chunk went to the caller.
/// Requests no tap wants pass through untouched.
/// </summary>
public sealed class TapHandler(CallHandler<ChatContext, ChatOutcome> inner, IReadOnlyList<IChatTap> taps, TimeProvider time) : DelegatingCallHandler<ChatContext, ChatOutcome>(inner)
{
    public override async ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
    {
        List<IChatTap>? wanting = null;
        foreach (var tap in taps)
        {
            if (tap.Wants(context)) (wanting ??= []).Add(tap);
        }
        var outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        if (wanting is null) return outcome;
        switch (outcome.Response)
        {
            case CompleteChatResponse complete:
                Publish(wanting, Snapshot(context, complete.Usage) with { ResponseBody = complete.Body });
                return outcome;
            case StreamingChatResponse stream:
                return new TappedStream(stream, this, context, wanting);
            default:
                return outcome;
        }
    }

    private CompletedChat Snapshot(ChatContext context, TokenUsage usage) => new()
    {
        RequestId = context.RequestId,
        Endpoint = context.Endpoint,
        Model = context.Model.RequestedId,
        Deployment = context.Deployment?.Id,
        Provider = context.Deployment?.Provider.Name,
        UpstreamModel = context.Deployment?.UpstreamModel,
        KeyId = context.Caller.KeyId,
        TeamId = context.Caller.TeamId,
        Timestamp = time.GetUtcNow(),
        RequestBody = context.Request.Body,
        Stream = context.Request.Stream,
        Usage = usage,
        LatencyMs = time.GetElapsedTime(context.StartTimestamp).TotalMilliseconds,
    };

    private static void Publish(List<IChatTap> taps, CompletedChat chat)
    {
        foreach (var tap in taps) tap.Completed(chat);
    }

    /// <summary>Collects the streamed text and publishes once the stream has ended normally and is disposed.</summary>
    private sealed class TappedStream(StreamingChatResponse inner, TapHandler owner, ChatContext context, List<IChatTap> taps) : DelegatingStreamingChatResponse(inner)
    {
        private readonly StringBuilder _text = new();

        protected override void OnChunk() => ChunkScanner.Scan(Inner.Current.Span, _text);

        protected override ValueTask OnDisposedAsync(StreamEnd end)
        {
            if (end == StreamEnd.Ended)
            {
                Publish(taps, owner.Snapshot(context, Inner.Usage) with { StreamedText = _text.ToString() });
            }
            return ValueTask.CompletedTask;
        }
    }
}
