using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Caching;

public static class CachePipelineExtensions
{
    /// <summary>
    /// The exact response cache for chat (see <see cref="CacheHandler"/>); add it after budgets, so that a hit has
    /// passed the key's checks (revoked, allowed models, rate limits, budget left) and is never charged, and before
    /// routing, so that a hit never calls upstream. Whether it applies is per model (<see cref="CachePolicy"/>), so a
    /// reload can turn it on or off without rebuilding the pipeline.
    /// </summary>
    /// <param name="pricer">Prices stored answers: what a hit saves (null: unpriced).</param>
    /// <param name="semantic">The semantic cache for aliases that turn it on (null: exact matches only).</param>
    /// <param name="random">Draws a request's rollout share (the router's source, so both agree; null: the system's).</param>
    public static PipelineBuilder UseResponseCache(this PipelineBuilder builder, ResponseCache cache, Pricer? pricer, Semantic.SemanticCache? semantic = null,
        Routing.IRandomSource? random = null) =>
        builder.Use(new CacheStage(cache, pricer, semantic, random));

    /// <summary>Chat answers are cached; other kinds of call pass by.</summary>
    private sealed class CacheStage(ResponseCache cache, Pricer? pricer, Semantic.SemanticCache? semantic, Routing.IRandomSource? random) : IPipelineStage
    {
        public CallHandler<TContext, TOutcome> Wrap<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner)
            where TKind : struct, ICallKind<TContext, TOutcome>
            where TContext : CallContext =>
            inner is CallHandler<ChatContext, ChatOutcome> chat ? (CallHandler<TContext, TOutcome>)(object)new CacheHandler(chat, cache, pricer, semantic, random) : inner;
    }
}

/// <summary>Reads the request's <c>Cache-Control</c> directives that the response cache honours.</summary>
public static class CacheControlHeader
{
    /// <summary><c>no-cache</c> (do not answer from the cache, do store) and <c>no-store</c> (neither), in any case, among other directives.</summary>
    public static CacheDirectives Parse(string? value)
    {
        var directives = CacheDirectives.None;
        if (string.IsNullOrEmpty(value)) return directives;
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals("no-cache", StringComparison.OrdinalIgnoreCase)) directives |= CacheDirectives.NoCache;
            else if (part.Equals("no-store", StringComparison.OrdinalIgnoreCase)) directives |= CacheDirectives.NoStore;
        }
        return directives;
    }
}
