-- Join the queue of one showtime, or find one's place again (reload, second tab, restart).
-- KEYS: queue (ZSET member -> score), active (ZSET member -> deadline ms),
--       epoch (STRING: this room's data since Redis last lost it)
-- ARGV: member, arrived_ms (when the request reached the site's edge, to the microsecond),
--       on_sale_ms, shuffle (a random number in [0, 1) made by the caller),
--       new_epoch (used if the room has none), then the member's signed claim from an earlier
--       visit: claim_epoch, claim_score, claim_deadline ("" when there is none), then now_ms
--       (the caller's clock: an admission holds until its deadline, however long ago the
--       request arrived)
-- Before on-sale a newcomer's score is its random shuffle number: the pre-queue is one random
-- order, whatever the arrival times. From on-sale on, a newcomer's score is its arrival time
-- (above 1, so behind the whole pre-queue): first come, first served, in the order requests
-- reached the site, however long each then waited for a web process to serve it.
-- A claim from another epoch means Redis lost the room since the claim was given (a restart
-- with nothing on disk, a failover): the place it proves is given back, so nobody loses it.
-- Returns {"active", deadline_ms, epoch, ""} or {"queued", people ahead, epoch, score}.
local member, arrived, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[9])
local epoch = redis.call("GET", KEYS[3])
if not epoch then
  epoch = ARGV[5]
  redis.call("SET", KEYS[3], epoch)
end
local lost = ARGV[6] ~= "" and ARGV[6] ~= epoch
local deadline = tonumber(redis.call("ZSCORE", KEYS[2], member) or "0")
if deadline <= now and lost and tonumber(ARGV[8]) > now then
  deadline = tonumber(ARGV[8])
  redis.call("ZADD", KEYS[2], deadline, member)
end
if deadline > now then
  return {"active", tostring(deadline), epoch, ""}
end
local score = redis.call("ZSCORE", KEYS[1], member)
if not score then
  if lost and ARGV[7] ~= "" then
    score = ARGV[7]
  elseif arrived < tonumber(ARGV[3]) then
    score = ARGV[4]
  else
    score = ARGV[2]
  end
  redis.call("ZADD", KEYS[1], score, member)
end
return {"queued", redis.call("ZRANK", KEYS[1], member), epoch, score}
