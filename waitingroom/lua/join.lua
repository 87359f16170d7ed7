-- Join the queue of one showtime, or find one's place again (reload, second tab, restart).
-- KEYS: queue (ZSET member -> score), active (ZSET member -> deadline ms), seq (counter)
-- ARGV: member, now_ms, on_sale_ms, shuffle (a random number in [0, 1) made by the caller)
-- Before on-sale a newcomer's score is its random shuffle number: the pre-queue is one random
-- order, whatever the arrival times. From on-sale on, newcomers get 1 + an arrival counter, so
-- they queue behind the whole pre-queue in the order they came.
-- Returns {"active", deadline_ms} or {"queued", people ahead}.
local member, now = ARGV[1], tonumber(ARGV[2])
local deadline = tonumber(redis.call("ZSCORE", KEYS[2], member) or "0")
if deadline > now then
  return {"active", tostring(deadline)}
end
if not redis.call("ZSCORE", KEYS[1], member) then
  local score
  if now < tonumber(ARGV[3]) then
    score = ARGV[4]
  else
    score = tostring(1 + redis.call("INCR", KEYS[3]))
  end
  redis.call("ZADD", KEYS[1], score, member)
end
return {"queued", redis.call("ZRANK", KEYS[1], member)}
