-- Drop from the expiry index the seats whose hold has ended by itself (its key expired), so the
-- caller can tell the seat map's viewers; a seat held again since keeps its entry.
-- KEYS[1]    expiry index (ZSET)    holds:{st<id>}:exp     member = label, score = expiry ms
-- KEYS[2]    seat-state version     holds:{st<id>}:version
-- KEYS[3..]  seat keys (STRING)     hold:{st<id>}:<label>
-- ARGV[1] now ms (caller's clock), ARGV[2] how long the version outlives its last change (ms),
-- ARGV[3..] seat labels, in the order of KEYS[3..]
-- Returns {version, {labels whose hold lapsed}} (version 0 when none did).
local now = tonumber(ARGV[1])
local FIRST_SEAT = 3
local lapsed = {}
for i = FIRST_SEAT, #KEYS do
  local label = ARGV[i]
  local due = tonumber(redis.call('ZSCORE', KEYS[1], label) or now + 1) <= now
  if due and redis.call('EXISTS', KEYS[i]) == 0 then
    lapsed[#lapsed + 1] = label
  end
end
if #lapsed == 0 then
  return {0, lapsed}
end
redis.call('ZREM', KEYS[1], unpack(lapsed))
-- The change's number (seats/holds.py, "Versions"): above every one before.
local clock = redis.call('TIME')
local version = math.max(redis.call('INCR', KEYS[2]), clock[1] * 1000000 + clock[2])
redis.call('SET', KEYS[2], string.format('%d', version), 'PX', ARGV[2])
return {version, lapsed}
