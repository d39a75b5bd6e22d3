using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Caching;

/// <summary>
/// The exact response cache, a stage of the chat pipeline inside budgets (docs/caching.md): for a model with a
/// <see cref="CachePolicy"/>, a request whose canonical key (<see cref="CacheKey"/>) has a live entry is answered from
/// it, never reaching the router; otherwise the answer is stored once it is complete (a complete body at once, a
/// stream when it has ended normally; failures, abandoned streams and answers above the size limit never are). A
/// hit is marked on the context (<see cref="CallContext.CacheHit"/>) for metering, which writes its zero-cost row
/// with what it saved, and for budgets, which release its hold. A model without a policy costs one field read and
/// one forwarded call (no state machine, no allocation).
/// </summary>
/// <remarks>
/// An alias with a semantic policy (<see cref="CachePolicy.Semantic"/>) also tries, after an exact miss, the stored
/// answer of a similar question (<see cref="Semantic.SemanticCache"/>); its hit is metered as an exact one.
/// </remarks>
public sealed class CacheHandler(CallHandler<ChatContext, ChatOutcome> inner, ResponseCache cache, Pricer? pricer, Semantic.SemanticCache? semantic = null,
    Routing.IRandomSource? random = null)
    : DelegatingCallHandler<ChatContext, ChatOutcome>(inner)
{
    public override ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken) =>
        context.Model.Cache is { } policy ? CachedAsync(context, policy, cancellationToken) : Inner.HandleAsync(context, cancellationToken);

    private async ValueTask<ChatOutcome> CachedAsync(ChatContext context, CachePolicy policy, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (!policy.Admits(request) || (request.CacheControl & CacheDirectives.NoStore) != 0)
        {
            context.CacheStatus = CacheStatus.Bypass;
            return await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        // Keyed by the guardrail policies that applied too: an entry holds the answer to a redacted request (placeholders,
        // restored per caller by the guardrail stage), served only to calls redacted the same way (docs/guardrails.md).
        // The semantic cache's partitions take the same scope.
        var scope = policy.ScopeOf(context.Caller);
        if (context.GuardrailPolicies is { } guarded) scope = string.Concat(scope, "\n", guarded);
        // During a rollout each side has its own entries: a request in the candidate's share is answered from the
        // candidate's, the others from the incumbent's, so neither is served the other's answers.
        if (context.Model.Rollout is { } rollout && context.InRolloutShare(rollout, random ?? Routing.SystemRandomSource.Instance))
        {
            scope = string.Concat(scope, "\nrollout:", rollout.Candidate.Id);
        }
        var key = CacheKey.Compute(request.Body.Span, context.Model.RequestedId, scope);
        var read = (request.CacheControl & CacheDirectives.NoCache) == 0;
        if (read && await cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            return Hit(context, entry, null);
        }
        Semantic.SemanticLink? link = null;
        if (policy.Semantic is { } similar && semantic is not null)
        {
            (var near, var similarity, link) = await semantic.LookupAsync(cache, context, similar, scope, read, cancellationToken).ConfigureAwait(false);
            if (near is not null)
            {
                return Hit(context, near, similarity);
            }
        }
        context.CacheStatus = CacheStatus.Miss;
        var outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        switch (outcome.Response)
        {
            case CompleteChatResponse complete:
                cache.Set(CacheEntry.FromComplete(key, context.RequestId, complete, CostOf(context, complete.Usage), cache.Time.GetTimestamp(), policy.Ttl));
                link?.Add(key, policy.Ttl);
                return outcome;
            case StreamingChatResponse stream:
                return new RecordingStream(stream, this, context, key, policy.Ttl, link);
            default:
                return outcome;
        }
    }

    private ChatOutcome Hit(ChatContext context, CacheEntry entry, float? similarity)
    {
        var request = context.Request;
        context.CacheStatus = CacheStatus.Hit;
        context.CacheHit = new CacheHit(entry.RequestId, entry.Cost.Amount, entry.Cost.Currency) { Similarity = similarity };
        return request.Stream
            ? new ReplayedStream(entry.StreamChunks(), request.IncludeUsage, entry.Usage, cache.Time, context.StartTimestamp)
            : entry.Complete();
    }

    /// <summary>What the answer cost (what each hit on it will save); unpriced without prices.</summary>
    private Cost CostOf(ChatContext context, TokenUsage usage) => pricer?.CostOf(context.Deployment, usage, cache.Time.GetUtcNow()) ?? Cost.Unpriced;

    /// <summary>Keeps a copy of each chunk as it passes and stores them once the stream has ended normally.</summary>
    private sealed class RecordingStream(StreamingChatResponse inner, CacheHandler owner, ChatContext context, UInt128 key, TimeSpan ttl, Semantic.SemanticLink? link)
        : DelegatingStreamingChatResponse(inner)
    {
        private List<StoredChunk>? _chunks = [];
        private long _bytes;
        private bool _sawUsage;

        protected override void OnChunk()
        {
            if (_chunks is null) return;
            var payload = Inner.Current;
            _bytes += payload.Length;
            if (_bytes > owner.Cache.MaxBytes)
            {
                _chunks = null; // larger than the whole cache: it would never be stored
                return;
            }
            var usageEnd = Inner.CurrentUsageEnd;
            var usageOnly = usageEnd >= 0 && Json.ChunkScanner.Scan(payload.Span, null).Choices == 0;
            _sawUsage |= usageEnd >= 0;
            _chunks.Add(new StoredChunk(payload.ToArray(), usageEnd, usageOnly));
        }

        protected override ValueTask OnEndedAsync()
        {
            if (_chunks is { Count: > 0 } chunks)
            {
                var usage = Inner.Usage;
                if (!_sawUsage)
                {
                    // The caller did not ask for usage (or the gateway kept it from them): store it for those who do.
                    var (id, created, model) = CachedAnswers.Header(chunks[0].Payload);
                    var chunk = CachedAnswers.UsageChunk(id, created, model, usage);
                    chunks.Add(chunk);
                    _bytes += chunk.Payload.Length;
                }
                owner.Cache.Set(CacheEntry.FromChunks(key, context.RequestId, [.. chunks], _bytes, usage, owner.CostOf(context, usage),
                    owner.Cache.Time.GetTimestamp(), ttl));
                link?.Add(key, ttl);
            }
            return ValueTask.CompletedTask;
        }
    }

    private ResponseCache Cache => cache;
}

/// <summary>A stored answer replayed as a stream: its chunks in order (the usage-only chunk only for callers that asked for usage), all at once.</summary>
internal sealed class ReplayedStream(StoredChunk[] chunks, bool includeUsage, TokenUsage usage, TimeProvider time, long startTimestamp) : StreamingChatResponse
{
    private int _index = -1;

    public override ReadOnlyMemory<byte> Current => chunks[_index].Payload;

    public override int CurrentUsageEnd => chunks[_index].UsageEnd;

    public override TokenUsage Usage => usage;

    public override ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        while (++_index < chunks.Length)
        {
            if (!includeUsage && chunks[_index].UsageOnly) continue;
            TimeToFirstChunk ??= time.GetElapsedTime(startTimestamp);
            return new(true);
        }
        _index = chunks.Length - 1;
        return new(false);
    }
}
