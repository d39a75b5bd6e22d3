using Sanjia.Core.Configuration;

namespace Sanjia.Redis;

/// <summary>
/// The gateway's Redis key and channel names: <c>{prefix}:name</c>, the prefix in braces as a hash tag, so that every
/// key of one gateway lands in one Redis Cluster slot and its scripts may touch several at once (docs/deployment.md).
/// </summary>
internal static class RedisKeys
{
    public static string Key(this RedisOptions options, string name) => "{" + options.KeyPrefix + "}:" + name;
}
