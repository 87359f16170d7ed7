-- A page of the sale (the queue, the seat map) opened or closed its live connection. A member
-- with none open is away from that moment; the worker frees the slot of one away too long.
-- KEYS: connections (HASH member -> open connections), away (ZSET member -> since ms)
-- ARGV: member, change (1 opened, -1 closed), now_ms. Returns the member's open connections.
local open = redis.call("HINCRBY", KEYS[1], ARGV[1], ARGV[2])
if open > 0 then
  redis.call("ZREM", KEYS[2], ARGV[1])
  return open
end
redis.call("HDEL", KEYS[1], ARGV[1])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[1])
return 0
