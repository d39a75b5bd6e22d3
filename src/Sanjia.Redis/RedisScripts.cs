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
    /// GCRA: each request moves the key's theoretical arrival time (TAT) on by T = 60 s / limit; one is admitted while
    /// TAT - now stays within 60 s, so an idle key may burst its whole minute and then gets the steady rate: no window
    /// edge to double up on.
    /// KEYS: rpm TAT, tpm TAT, then per budget its hash (spent, reserved, h:&lt;hold&gt; = amount) and its holds (zset: hold -> expiry).
    /// ARGV: now, rpm (0 = none), tpm (0 = none), hold id, hold expiry, then per budget: limit, amount, expire-at in ms (0 = never).
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
    /// After the call: TPM's TAT moves on by the tokens used; each budget's hold (if still there: it may have expired)
    /// is removed and the actual cost added to what is spent, but only to a state that exists: a state lost with a
    /// Redis restart is rebuilt from the ledger, which holds this request's row.
    /// KEYS: tpm TAT, then per budget its hash and holds. ARGV: now, tpm (0 = none), tokens, hold id ('' = none), then per budget the actual cost.
    /// </summary>
    public const string Settle = """
        local W = 60000000
        local now, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        if tpm > 0 and tokens > 0 then
          local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
          if tat < now then tat = now end
          tat = tat + tokens * W / tpm
          redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
        end
        local nb = (#KEYS - 1) / 2
        for i = 1, nb do
          local h, z = KEYS[2 * i], KEYS[2 * i + 1]
          if ARGV[4] ~= '' and redis.call('ZREM', z, ARGV[4]) == 1 then
            local amt = redis.call('HGET', h, 'h:' .. ARGV[4])
            if amt and tonumber(amt) > 0 then redis.call('HINCRBY', h, 'reserved', '-' .. amt) end
            redis.call('HDEL', h, 'h:' .. ARGV[4])
          end
          local actual = ARGV[4 + i]
          if tonumber(actual) > 0 and redis.call('EXISTS', h) == 1 then redis.call('HINCRBY', h, 'spent', actual) end
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
}
