namespace Sanjia.Redis;

/// <summary>
/// The Lua scripts that make each step atomic in Redis (decision 0006). Times are microseconds on the gateway's clock
/// (<see cref="TimeProvider"/>, passed in, so every instance's clock must be synchronised, and tests can fake it);
/// amounts are integers in billionths of the budget's currency (Lua numbers are doubles: exact to 2^53, i.e. budgets
/// up to 9 million units). StackExchange.Redis sends each script once per server and then by its SHA (EVALSHA),
/// sending it again after a Redis restart answers NOSCRIPT.
/// </summary>
internal static class RedisScripts
{
    /// <summary>Removes a budget's expired holds (an instance that died before settling them) from what it has reserved.</summary>
    private const string Purge = """
        local function purge(h, z, now)
          local dead = redis.call('ZRANGEBYSCORE', z, '-inf', now)
          for _, id in ipairs(dead) do
            local amt = redis.call('HGET', h, 'h:' .. id)
            if amt and tonumber(amt) > 0 then redis.call('HINCRBY', h, 'reserved', '-' .. amt) end
            redis.call('HDEL', h, 'h:' .. id)
            redis.call('ZREM', z, id)
          end
        end

        """;

    /// <summary>
    /// Admission in one round trip: RPM by GCRA (counted), TPM by GCRA (checked; tokens are added when the request
    /// ends), then one hold per budget, all or nothing. A budget whose state is missing (first use of its window, or
    /// Redis restarted) answers {-1, i}: the caller loads it from the ledger (<see cref="Init"/>) and asks again.
    /// RPM/TPM lost with a Redis restart: the epoch key holds when this Redis's limits began (set by the first
    /// admission that finds it missing); for the first minute after it, a key with limits not yet in the rebuilt set
    /// answers {-5}: the caller replays the key's last minute from the ledger into its TATs (<see cref="LimitsInit"/>)
    /// and asks again. After that minute the check is one GET inside this script.
    /// GCRA: each request moves the key's theoretical arrival time (TAT) on by T = 60 s / limit; one is admitted while
    /// TAT - now stays within 60 s, so an idle key may burst its whole minute and then gets the steady rate: no window
    /// edge to double up on.
    /// KEYS: rpm TAT, tpm TAT, then per budget its hash (spent, reserved, h:&lt;hold&gt; = amount) and its holds (zset: hold -> expiry).
    /// ARGV: now, rpm (0 = none), tpm (0 = none), hold id, hold expiry, then per budget: limit, amount, expire-at in ms (0 = never).
    /// The limits' epoch and rebuilt set are named from the rpm key (same hash tag, same slot).
    /// Answers {code, requests left, requests reset, tokens left, tokens reset, ...}: 1 admitted; -2 rpm / -4 tpm
    /// refused (+ retry after); -3 budget i refused (+ i, what is left).
    /// </summary>
    public const string Admit = Purge + """
        local W = 60000000
        local now = tonumber(ARGV[1])
        local rpm = tonumber(ARGV[2])
        local tpm = tonumber(ARGV[3])
        local nb = (#KEYS - 2) / 2
        for i = 1, nb do
          if redis.call('EXISTS', KEYS[1 + 2 * i]) == 0 then return {-1, i} end
        end
        if rpm > 0 or tpm > 0 then
          -- '{prefix}:rpm:<key id>': the epoch and rebuilt set share its hash tag, hence its slot.
          local base = string.match(KEYS[1], '^(.-}:)rpm:')
          local epoch = redis.call('GET', base .. 'limits:epoch')
          if not epoch or (now - tonumber(epoch) < W
              and redis.call('SISMEMBER', base .. 'limits:rebuilt', string.sub(KEYS[1], #base + 5)) == 0) then
            return {-5}
          end
        end
        local remReq, resetReq, remTok, resetTok, reqTat, refused, retry = -1, 0, -1, 0, nil, 0, 0
        if rpm > 0 then
          local T = W / rpm
          local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
          if tat < now then tat = now end
          local new = tat + T
          if new - now > W then
            refused = -2
            retry = new - now - W
            remReq = 0
            resetReq = tat - now
          else
            reqTat = new
            remReq = math.floor((W - (new - now)) / T)
            resetReq = new - now
          end
        end
        if tpm > 0 then
          local T = W / tpm
          local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
          if tat < now then tat = now end
          remTok = math.floor((W - (tat - now)) / T)
          if remTok < 0 then remTok = 0 end
          resetTok = tat - now
          if refused == 0 and tat - now + T > W then
            refused = -4
            retry = tat - now + T - W
          end
        end
        if refused ~= 0 then return {refused, remReq, resetReq, remTok, resetTok, retry} end
        for i = 1, nb do
          local h, z = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
          purge(h, z, now)
          local base = 5 + 3 * (i - 1)
          local limit, amount = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
          local spent = tonumber(redis.call('HGET', h, 'spent') or '0')
          local reserved = tonumber(redis.call('HGET', h, 'reserved') or '0')
          if spent + reserved + amount > limit then
            local left = limit - spent - reserved
            if left < 0 then left = 0 end
            return {-3, remReq, resetReq, remTok, resetTok, i, left}
          end
        end
        if reqTat then
          redis.call('SET', KEYS[1], string.format('%.0f', reqTat), 'PX', math.ceil((reqTat - now) / 1000) + 1000)
        end
        for i = 1, nb do
          local h, z = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
          local base = 5 + 3 * (i - 1)
          local amount, expireAt = ARGV[base + 2], tonumber(ARGV[base + 3])
          if tonumber(amount) > 0 then redis.call('HINCRBY', h, 'reserved', amount) end
          redis.call('HSET', h, 'h:' .. ARGV[4], amount)
          redis.call('ZADD', z, ARGV[5], ARGV[4])
          if expireAt > 0 then redis.call('PEXPIREAT', z, expireAt) end
        end
        return {1, remReq, resetReq, remTok, resetTok}
        """;

    /// <summary>
    /// After the calls, for one request or several (settlements queued while the call before was in flight), item
    /// after item: TPM's TAT moves on by the tokens used; each budget's hold (if still there: it may have expired) is
    /// removed and the actual cost added to what is spent, but only to a state that exists: a state lost with a Redis
    /// restart is rebuilt from the ledger, which holds the request's row.
    /// KEYS: per item its tpm TAT, then per budget its hash and holds. ARGV: the item count, then per item: its budget
    /// count, now, tpm (0 = none), tokens, hold id ('' = none), per budget the actual cost.
    /// </summary>
    public const string SettleBatch = """
        local W = 60000000
        local ki, ai = 1, 2
        for n = 1, tonumber(ARGV[1]) do
          local nb = tonumber(ARGV[ai])
          local now, tpm, tokens, hold = tonumber(ARGV[ai + 1]), tonumber(ARGV[ai + 2]), tonumber(ARGV[ai + 3]), ARGV[ai + 4]
          if tpm > 0 and tokens > 0 then
            local tat = tonumber(redis.call('GET', KEYS[ki]) or '0')
            if tat < now then tat = now end
            tat = tat + tokens * W / tpm
            redis.call('SET', KEYS[ki], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
          end
          for i = 1, nb do
            local h, z = KEYS[ki + 2 * i - 1], KEYS[ki + 2 * i]
            if hold ~= '' and redis.call('ZREM', z, hold) == 1 then
              local amt = redis.call('HGET', h, 'h:' .. hold)
              if amt and tonumber(amt) > 0 then redis.call('HINCRBY', h, 'reserved', '-' .. amt) end
              redis.call('HDEL', h, 'h:' .. hold)
            end
            local actual = ARGV[ai + 4 + i]
            if tonumber(actual) > 0 and redis.call('EXISTS', h) == 1 then redis.call('HINCRBY', h, 'spent', actual) end
          end
          ki = ki + 1 + 2 * nb
          ai = ai + 5 + nb
        end
        return 1
        """;

    /// <summary>
    /// A budget's state for a window, from what the ledger holds: set only if still missing (instances racing to load
    /// it agree on the first), expiring a day after the window ends.
    /// KEYS: the hash. ARGV: spent, expire-at in ms (0 = never).
    /// </summary>
    public const string Init = """
        if redis.call('HSETNX', KEYS[1], 'spent', ARGV[1]) == 1 then
          redis.call('HSET', KEYS[1], 'reserved', '0')
          if tonumber(ARGV[2]) > 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
          return 1
        end
        return 0
        """;

    /// <summary>Spent and reserved of one budget after removing its expired holds; {-1} when its state is missing. KEYS: hash, holds. ARGV: now.</summary>
    public const string Status = Purge + """
        local h, z, now = KEYS[1], KEYS[2], tonumber(ARGV[1])
        if redis.call('EXISTS', h) == 0 then return {-1} end
        purge(h, z, now)
        return {1, redis.call('HGET', h, 'spent') or '0', redis.call('HGET', h, 'reserved') or '0'}
        """;

    /// <summary>
    /// A response-cache entry, marked as just used in the recency set; nil when there is none (never stored, expired,
    /// evicted). KEYS: the entry, the recency set. ARGV: now (ms), the entry's member name. Answers {value, ms left}.
    /// </summary>
    public const string CacheGet = """
        local v = redis.call('GET', KEYS[1])
        if not v then return nil end
        redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[2])
        return {v, redis.call('PTTL', KEYS[1])}
        """;

    /// <summary>
    /// Stores a response-cache entry with its TTL and keeps the entries' total within the limit: the member's size is
    /// recorded, then from the least recently used end, entries that have expired are dropped (up to 16 a call, so
    /// that their bytes stop counting) and live ones evicted while the total is above the limit.
    /// KEYS: the entry, the recency set (member -> last use, ms), the sizes (member -> bytes), the total.
    /// ARGV: value, TTL (ms), now (ms), member, size, limit, the entries' key prefix.
    /// </summary>
    public const string CacheSet = """
        local lru, sizes, total_key = KEYS[2], KEYS[3], KEYS[4]
        local total = tonumber(redis.call('GET', total_key) or '0')
        local old = redis.call('HGET', sizes, ARGV[4])
        if old then total = total - tonumber(old) end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('ZADD', lru, ARGV[3], ARGV[4])
        redis.call('HSET', sizes, ARGV[4], ARGV[5])
        total = total + tonumber(ARGV[5])
        local max, dropped = tonumber(ARGV[6]), 0
        while true do
          local oldest = redis.call('ZRANGE', lru, 0, 0)
          if #oldest == 0 or oldest[1] == ARGV[4] then break end
          local m = oldest[1]
          local gone = redis.call('EXISTS', ARGV[7] .. m) == 0
          if total <= max and (not gone or dropped >= 16) then break end
          if not gone then redis.call('DEL', ARGV[7] .. m) end
          total = total - tonumber(redis.call('HGET', sizes, m) or '0')
          redis.call('HDEL', sizes, m)
          redis.call('ZREM', lru, m)
          dropped = dropped + 1
        end
        redis.call('SET', total_key, total)
        return total
        """;

    /// <summary>
    /// When this Redis's RPM/TPM began: set now if missing (a new or restarted Redis), and read. Never expires: its
    /// absence is what says the limits were lost. KEYS: the epoch. ARGV: now. Answers the epoch (µs).
    /// </summary>
    public const string LimitsEpoch = """
        redis.call('SET', KEYS[1], ARGV[1], 'NX')
        return redis.call('GET', KEYS[1])
        """;

    /// <summary>
    /// A key's RPM/TPM rebuilt once per Redis epoch: the first instance to add the key to the rebuilt set moves each
    /// TAT on by what the ledger's last minute before the epoch still owes (µs); an instance that comes second changes
    /// nothing. KEYS: rpm TAT, tpm TAT, rebuilt set. ARGV: now, rpm debt, tpm debt, key id. Answers 1 if it rebuilt.
    /// </summary>
    public const string LimitsInit = """
        if redis.call('SADD', KEYS[3], ARGV[4]) == 0 then return 0 end
        redis.call('PEXPIRE', KEYS[3], 120000)
        local now = tonumber(ARGV[1])
        for i = 1, 2 do
          local debt = tonumber(ARGV[1 + i])
          if debt > 0 then
            local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
            if tat < now then tat = now end
            tat = tat + debt
            redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
          end
        end
        return 1
        """;
}
