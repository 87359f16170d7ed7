-- Let the next shoppers in: as many as there are free active slots and admissions left in the
-- rate's bucket. Atomic, with the bucket in Redis: two workers running at once admit no one
-- twice and no faster than the rate between them.
-- KEYS: queue, active, bucket (HASH tokens, at)
-- ARGV: now_ms, on_sale_ms, max_active, rate_per_minute, window_ms, paused (1 or 0)
-- Returns the members admitted, in queue order, then their deadline (ms) as the last item.
local now, on_sale = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_active, rate = tonumber(ARGV[3]), tonumber(ARGV[4])
local window, paused = tonumber(ARGV[5]), ARGV[6] == "1"
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
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
  admitted[#admitted + 1] = popped[i]
end
redis.call("HSET", KEYS[3], "tokens", tostring(tokens - #admitted))
if #admitted > 0 then
  admitted[#admitted + 1] = tostring(deadline)
end
return admitted
