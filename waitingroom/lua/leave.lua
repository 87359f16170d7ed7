-- Leave: out of the queue and, if admitted, the active slot is free for the next shopper.
-- KEYS: queue, active. ARGV: member. Returns 1 if the member was anywhere, else 0.
local queued = redis.call("ZREM", KEYS[1], ARGV[1])
local active = redis.call("ZREM", KEYS[2], ARGV[1])
return math.min(1, queued + active)
