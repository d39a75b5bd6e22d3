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
/// The semantic cache across instances (docs/caching.md, "Shared through Redis"): each question an instance indexes
/// (its partition, vector, text, the exact key of its answer and when that answer expires) is appended to the stream
/// <c>{prefix}:semantic:log</c> and published on <c>{prefix}:semantic</c>, and every other instance adds it to its own
/// index; the answer itself is in the response cache's Redis tier. So a paraphrase is answered by whichever instance
/// it reaches.
/// <para>
/// Pub/sub keeps nothing, so the stream is what an instance that was away reads back: at start, and after every
/// reconnection (<see cref="RedisChannelSubscription"/>'s catch-up, tried again until it works), it reads the log
/// newest first and adds the questions whose answers have not expired (<see cref="CatchUpAsync"/>). The log is capped
/// at about the index's capacity (<c>XADD MAXLEN ~</c>): a restarted instance can hold no more, and the newest are the
/// ones it keeps. Live updates stay on pub/sub rather than an <c>XREAD</c> from the last id read: StackExchange.Redis
/// multiplexes one connection and does not run blocking commands (<c>XREAD BLOCK</c>), so a stream reader would poll
/// (a round trip per instance per interval, and that interval's delay), where a subscription delivers at once over
/// the connection the other feeds already hold. A question read twice (live and from the log) is added once
/// (<see cref="SemanticPeers.Receive"/>).
/// </para>
/// </summary>
public sealed partial class RedisSemanticFeed : ISemanticFeed
{
    private const byte Version = 1;
    private const int Header = 1 + 16 + 16 + 16 + 8 + 4;

    /// <summary>The log's entries read per round trip at a catch-up (about 1.6 KB each at 384 dimensions).</summary>
    internal const int CatchUpPage = 500;

    /// <summary>
    /// How long one catch-up may read the log; what it read by then stays (the newest questions). 100,000 entries
    /// (the index's default capacity, about 160 MB) take a few seconds over a local network; this bounds the load on
    /// Redis and this instance when the link or Redis is slow.
    /// </summary>
    internal static readonly TimeSpan CatchUpTimeLimit = TimeSpan.FromSeconds(30);

    private static readonly RedisValue Field = "q";

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly RedisKey _log;
    private readonly Guid _instance = Guid.NewGuid();
    private readonly SemanticCache _semantic;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisChannelSubscription _subscription;
    private int _down;

    public RedisSemanticFeed(IConnectionMultiplexer redis, RedisOptions options, SemanticCache semantic, TimeProvider time, ILogger<RedisSemanticFeed> logger)
    {
        _redis = redis;
        _semantic = semantic;
        _time = time;
        _logger = logger;
        _channel = RedisChannel.Literal(options.Key("semantic"));
        _log = options.Key("semantic:log");
        _subscription = new RedisChannelSubscription(redis, _channel, OnMessage, CatchUpAsync, reason => LogFailed(_logger, "subscribe", reason));
    }

    /// <summary>
    /// At start: the other instances' questions still in the log, read in the background (start-up does not wait: the
    /// gateway serves meanwhile, and a paraphrase asked in that moment is a miss). With Redis down it is left to the
    /// catch-up that follows the connection.
    /// </summary>
    public void Start()
    {
        if (_redis.IsConnected) _subscription.CatchUpNow();
    }

    public void Publish(SharedQuestion question)
    {
        if (!_redis.IsConnected)
        {
            if (Interlocked.Exchange(ref _down, 1) == 0) LogFailed(_logger, "publish", "not connected");
            return;
        }
        Volatile.Write(ref _down, 0);
        var message = Encode(_instance, question);
        _redis.GetDatabase().StreamAdd(_log, Field, message, maxLength: _semantic.Index.MaxEntries, useApproximateMaxLength: true,
            flags: CommandFlags.FireAndForget);
        _redis.GetSubscriber().Publish(_channel, message, CommandFlags.FireAndForget);
    }

    private void OnMessage(RedisValue message)
    {
        if (Decode((byte[])message!) is var (from, question) && from != _instance && _semantic.Peers is { } peers)
        {
            peers.Receive(_semantic.Index, question);
        }
    }

    /// <summary>
    /// Reads the log newest first, <see cref="CatchUpPage"/> entries a round trip, and adds the other instances'
    /// questions whose answers have not expired, until the log ends, the index is full (so no question read here pushes
    /// out a newer one), as many entries as the index holds have been read (the log may be longer when another
    /// instance has a larger index), or <see cref="CatchUpTimeLimit"/> has passed. Each is ranked older than what the index holds,
    /// so that a full index drops the oldest read first (after a reconnection, the questions missed while away are in
    /// fact newer than those it held: they are ranked older all the same). An entry whose answer has left Redis early is
    /// added and forgotten at its first lookup, as a published one. False when Redis failed (it is tried again).
    /// </summary>
    private async Task<bool> CatchUpAsync()
    {
        if (_semantic.Peers is not { } peers) return true;
        var index = _semantic.Index;
        var started = _time.GetTimestamp();
        int read = 0, added = 0;
        var stop = "the log's end";
        try
        {
            // XREVRANGE from the last id read, inclusive (exclusive ranges need Redis 6.2): that entry is skipped.
            RedisValue? end = null;
            while (true)
            {
                if (index.Count >= index.MaxEntries || read >= index.MaxEntries)
                {
                    stop = index.Count >= index.MaxEntries ? "a full index" : "as many entries as the index holds";
                    break;
                }
                if (_time.GetElapsedTime(started) >= CatchUpTimeLimit)
                {
                    stop = "the time limit";
                    break;
                }
                var page = await _redis.GetDatabase().StreamRangeAsync(_log, null, end, CatchUpPage, Order.Descending).ConfigureAwait(false);
                foreach (var entry in page)
                {
                    if (entry.Id == end) continue;
                    read++;
                    if (Decode((byte[]?)entry[Field]) is var (from, question) && from != _instance && peers.Receive(index, question, older: true)) added++;
                }
                if (page.Length < CatchUpPage) break;
                end = page[^1].Id;
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogFailed(_logger, "reading the question log", ex.Message);
            return false;
        }
        LogCaughtUp(_logger, added, read, (long)_time.GetElapsedTime(started).TotalMilliseconds, stop);
        return true;
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

    [LoggerMessage(EventId = LogEvents.SharedSemanticCaughtUp, Level = LogLevel.Information,
        Message = "Semantic cache feed: {Added} questions of other instances added from the log ({Read} read in {Milliseconds} ms, up to {Stop}).")]
    private static partial void LogCaughtUp(ILogger logger, int added, int read, long milliseconds, string stop);

    [LoggerMessage(EventId = LogEvents.SharedSemanticFeedFailed, Level = LogLevel.Warning, Message = "Semantic cache feed: {What} failed ({Reason}); paraphrases are answered by the instance that indexed the question until Redis answers.")]
    private static partial void LogFailed(ILogger logger, string what, string reason);
}
