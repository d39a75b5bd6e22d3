using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Caching.Semantic;

/// <summary>Embeds one text with an embedding model behind the gateway; null when it cannot (the request then misses).</summary>
public interface ISemanticEmbedder
{
    ValueTask<float[]?> EmbedAsync(string model, string alias, string text, string requestId, CancellationToken cancellationToken);
}

/// <summary>
/// The semantic cache (docs/caching.md), used by <see cref="CacheHandler"/> after an exact miss: the last user turn is
/// embedded (<see cref="ISemanticEmbedder"/>), the index finds the most similar stored question of the same partition
/// (<see cref="SemanticKey"/>), and the response cache's entry it points at answers. A miss hands back the link the
/// handler adds once the answer is stored.
/// </summary>
public sealed class SemanticCache(SemanticIndex index, ISemanticEmbedder embedder, SemanticPeers? peers = null)
{
    public SemanticIndex Index => index;

    /// <summary>The other instances' questions and where this instance's go (docs/caching.md, "Shared through Redis").</summary>
    public SemanticPeers? Peers => peers;

    /// <summary>The stored answer of a similar question (and how similar), or the link to add for this request's answer (null: nothing to compare).</summary>
    public async ValueTask<(CacheEntry? Entry, float Similarity, SemanticLink? Link)> LookupAsync(
        ResponseCache cache, ChatContext context, SemanticPolicy policy, string scope, bool read, CancellationToken cancellationToken)
    {
        if (SemanticKey.Of(context.Request.Body.Span, context.Model.RequestedId, scope, policy.EmbeddingModel, policy.LatinScriptOnly) is not var (partition, text))
        {
            return (null, 0, null);
        }
        var vector = await embedder.EmbedAsync(policy.EmbeddingModel, context.Model.RequestedId, text, context.RequestId, cancellationToken).ConfigureAwait(false);
        if (vector is null)
        {
            return (null, 0, null);
        }
        if (read && index.Find(partition, vector, policy.Threshold, text) is var (key, similarity))
        {
            // Another instance's answer is in the shared tier, not in this instance's memory: one round trip for it
            // (GetAsync reads memory first); gone from there too, it is forgotten.
            var peer = peers is not null && peers.Knows(key);
            var entry = peer ? await cache.GetAsync(key, cancellationToken).ConfigureAwait(false) : cache.Get(key);
            if (entry is not null) return (entry, similarity, null);
            if (peer) peers!.Forget(key);
        }
        return (null, 0, new SemanticLink(index, partition, vector, text, peers, cache.Time));
    }
}

/// <summary>A missed question's vector, added to the index (and told to the other instances) once its answer is stored under <c>key</c> for <c>ttl</c>.</summary>
public sealed class SemanticLink(SemanticIndex index, UInt128 partition, float[] vector, string text, SemanticPeers? peers, TimeProvider time)
{
    public void Add(UInt128 key, TimeSpan ttl)
    {
        index.Add(partition, vector, key, text);
        if (peers?.Feed is { } feed) feed.Publish(new SharedQuestion(partition, vector, key, text, time.GetUtcNow() + ttl));
    }
}

/// <summary>
/// Embeds through the gateway's own embeddings pipeline (routing, fallbacks, metering), as the gateway's own traffic
/// under the key id <c>semantic-cache:&lt;alias&gt;</c> (<see cref="KeyIdOf"/>): its ledger rows show what the lookups
/// cost per alias, and callers' budgets and rate limits are not charged for them.
/// </summary>
public sealed class EngineEmbedder(Func<GatewayEngine> engine, TimeProvider time) : ISemanticEmbedder
{
    public static string KeyIdOf(string alias) => "semantic-cache:" + alias;

    public async ValueTask<float[]?> EmbedAsync(string model, string alias, string text, string requestId, CancellationToken cancellationToken)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(text.Length + model.Length + 32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("model"u8, model);
            writer.WriteString("input"u8, text);
            writer.WriteEndObject();
        }
        var body = buffer.WrittenMemory;
        var request = new EmbeddingRequest { Body = body, Model = model, Inputs = [text] };
        var caller = new Caller(KeyIdOf(alias), null, IsMaster: true);
        var (_, outcome) = await engine().EmbedAsync(request, caller, requestId + "-semantic", time.GetTimestamp(), cancellationToken).ConfigureAwait(false);
        return outcome.Result switch
        {
            { Vectors: [var v, ..] } => v,
            { Body: { } json } => FirstVector(json.Span),
            _ => null,
        };
    }

    /// <summary>The first <c>data[].embedding</c> of an OpenAI embeddings list (float arrays: the request asks for no other encoding).</summary>
    internal static float[]? FirstVector(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("embedding"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray) return null;
                var values = new List<float>(1536);
                while (reader.Read() && reader.TokenType == JsonTokenType.Number) values.Add(reader.GetSingle());
                return [.. values];
            }
        }
        return null;
    }
}
