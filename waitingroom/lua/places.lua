-- Where each member stands, for the live pages' update after a pass: one script for all the
-- watchers of a process instead of two commands each (their packing and replies were the
-- largest cost of a pass with thousands of pages open).
-- KEYS: active (ZSET member -> deadline ms), queue (ZSET member -> score)
-- ARGV: the members. Returns two integers per member: its deadline (or -1 if it has no slot)
-- and the people ahead of it in the queue (or -1 if it is not queued).
local found = {}
for i, member in ipairs(ARGV) do
  local deadline = redis.call("ZSCORE", KEYS[1], member)
  local rank = redis.call("ZRANK", KEYS[2], member)
  found[2 * i - 1] = deadline and math.floor(tonumber(deadline)) or -1
  found[2 * i] = rank or -1
end
return found
