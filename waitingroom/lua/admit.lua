-- Let the next shoppers in: as many as there are free active slots and admissions left in the
-- rate's bucket. Atomic, with the bucket in Redis: two workers running at once admit no one
-- twice and no faster than the rate between them.
-- KEYS: queue, active, bucket (HASH tokens, at), pace (ZSET "<count>:<first member>" -> ms),
--       away (ZSET member -> ms since when none of their pages is open),
--       connections (HASH member -> open live pages)
-- ARGV: now_ms, on_sale_ms, max_active, rate_per_minute, window_ms, paused (1 or 0), grace_ms
-- Returns the members admitted, in queue order, then their deadline (ms) as the last item.
local now, on_sale = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_active, rate = tonumber(ARGV[3]), tonumber(ARGV[4])
local window, paused, grace = tonumber(ARGV[5]), ARGV[6] == "1", tonumber(ARGV[7])
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
-- A shopper who closed every page of the sale for longer than the grace frees their slot; one
-- still queued keeps their place and the mark, and is freed this way if still away when let in.
for _, member in ipairs(redis.call("ZRANGEBYSCORE", KEYS[5], "-inf", now - grace)) do
  if redis.call("ZREM", KEYS[2], member) == 1 or not redis.call("ZSCORE", KEYS[1], member) then
    redis.call("ZREM", KEYS[5], member)
  end
end
redis.call("ZREMRANGEBYSCORE", KEYS[4], "-inf", now - 60000)
-- The bucket refills at the rate, holding at most ten seconds' worth (no surge after a pause).
local cap = math.max(1, rate / 6)
local tokens = tonumber(redis.call("HGET", KEYS[3], "tokens") or tostring(cap))
local at = tonumber(redis.call("HGET", KEYS[3], "at") or ARGV[1])
tokens = math.min(cap, tokens + math.max(0, now - at) * rate / 60000)
redis.call("HSET", KEYS[3], "tokens", tostring(tokens), "at", ARGV[1])
if paused or now < on_sale then
  return {}
end
local room = math.min(max_active - redis.call("ZCARD", KEYS[2]), math.floor(tokens))
if room <= 0 then
  return {}
end
local popped = redis.call("ZPOPMIN", KEYS[1], room)
local admitted = {}
local deadline = now + window
for i = 1, #popped, 2 do
  redis.call("ZADD", KEYS[2], deadline, popped[i])
  -- With no page of the sale open when let in (closed since, or never opened: a place taken and
  -- abandoned), away from now: the grace starts now.
  if not redis.call("HGET", KEYS[6], popped[i]) then
    redis.call("ZADD", KEYS[5], now, popped[i])
  end
  admitted[#admitted + 1] = popped[i]
end
redis.call("HSET", KEYS[3], "tokens", tostring(tokens - #admitted))
if #admitted > 0 then
  redis.call("ZADD", KEYS[4], now, #admitted .. ":" .. admitted[1])
  admitted[#admitted + 1] = tostring(deadline)
end
return admitted
