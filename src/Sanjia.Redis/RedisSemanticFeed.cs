using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Caching.Semantic;
using Sanjia.Core.Configuration;
using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// The semantic cache across instances (docs/caching.md, "Shared through Redis"): each question an instance indexes is
/// published on <c>{prefix}:semantic</c> (its partition, vector, text, the exact key of its answer and when that answer
/// expires), and every other instance adds it to its own index; the answer itself is in the response cache's Redis
/// tier. So a paraphrase is answered by whichever instance it reaches. Pub/sub keeps nothing: a question published
/// while an instance was away (or before it started) is not in that instance's index, which then learns the questions
/// it answers itself and those published after it.
/// </summary>
public sealed partial class RedisSemanticFeed : ISemanticFeed
{
    private const byte Version = 1;
    private const int Header = 1 + 16 + 16 + 16 + 8 + 4;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly Guid _instance = Guid.NewGuid();
    private readonly SemanticCache _semantic;
    private readonly ILogger _logger;
    private int _down;

    public RedisSemanticFeed(IConnectionMultiplexer redis, RedisOptions options, SemanticCache semantic, ILogger<RedisSemanticFeed> logger)
    {
        _redis = redis;
        _semantic = semantic;
        _logger = logger;
        _channel = RedisChannel.Literal("{" + options.KeyPrefix + "}:semantic");
        _ = new RedisChannelSubscription(redis, _channel, OnMessage, static () => Task.FromResult(true), reason => LogFailed(_logger, "subscribe", reason));
    }

    public void Publish(SharedQuestion question)
    {
        if (!_redis.IsConnected)
        {
            if (Interlocked.Exchange(ref _down, 1) == 0) LogFailed(_logger, "publish", "not connected");
            return;
        }
        Volatile.Write(ref _down, 0);
        _redis.GetSubscriber().Publish(_channel, Encode(_instance, question), CommandFlags.FireAndForget);
    }

    private void OnMessage(RedisValue message)
    {
        if (Decode((byte[])message!) is var (from, question) && from != _instance && _semantic.Peers is { } peers)
        {
            peers.Receive(_semantic.Index, question);
        }
    }

    /// <summary>Version, sender, partition, entry, expiry (Unix ms), dimensions, the vector (float32), then the text (UTF-8), little-endian.</summary>
    internal static byte[] Encode(Guid instance, SharedQuestion q)
    {
        var vector = MemoryMarshal.AsBytes(q.Vector.AsSpan());
        var text = Encoding.UTF8.GetByteCount(q.Text);
        var bytes = new byte[Header + vector.Length + text];
        var span = bytes.AsSpan();
        span[0] = Version;
        instance.TryWriteBytes(span[1..17]);
        BinaryPrimitives.WriteUInt128LittleEndian(span[17..33], q.Partition);
        BinaryPrimitives.WriteUInt128LittleEndian(span[33..49], q.Entry);
        BinaryPrimitives.WriteInt64LittleEndian(span[49..57], q.Expires.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt32LittleEndian(span[57..61], q.Vector.Length);
        if (BitConverter.IsLittleEndian) vector.CopyTo(span[Header..]);
        else for (var i = 0; i < q.Vector.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(Header + 4 * i)..], q.Vector[i]);
        Encoding.UTF8.GetBytes(q.Text, span[(Header + vector.Length)..]);
        return bytes;
    }

    /// <summary>The sender and the question; null for anything else (another version, a short or malformed message).</summary>
    internal static (Guid From, SharedQuestion Question)? Decode(byte[]? bytes)
    {
        if (bytes is null || bytes.Length < Header || bytes[0] != Version) return null;
        var span = bytes.AsSpan();
        var dimensions = BinaryPrimitives.ReadInt32LittleEndian(span[57..61]);
        if (dimensions <= 0 || dimensions > (bytes.Length - Header) / 4) return null;
        var vector = new float[dimensions];
        for (var i = 0; i < dimensions; i++) vector[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(Header + 4 * i)..]);
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(span[(Header + 4 * dimensions)..]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        var ms = BinaryPrimitives.ReadInt64LittleEndian(span[49..57]);
        if (ms < 0 || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()) return null;
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return (new Guid(span[1..17]), new SharedQuestion(BinaryPrimitives.ReadUInt128LittleEndian(span[17..33]),
            vector, BinaryPrimitives.ReadUInt128LittleEndian(span[33..49]), text, expires));
    }

    [LoggerMessage(EventId = LogEvents.SharedSemanticFeedFailed, Level = LogLevel.Warning, Message = "Semantic cache feed: {What} failed ({Reason}); paraphrases are answered by the instance that indexed the question until Redis answers.")]
    private static partial void LogFailed(ILogger logger, string what, string reason);
}
