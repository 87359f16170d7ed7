-- Read seats' holders and the seat-state version in one step, numbering the reading first when
-- asked: what the reading shows is then at least as new as its version.
-- KEYS[1]    seat-state version     holds:{st<id>}:version
-- KEYS[2..]  seat keys (STRING)     hold:{st<id>}:<label>  value = token, or 'sold:' .. token
-- ARGV[1] '1' to number this reading (a change being told), '0' to only read,
-- ARGV[2] how long the version outlives its last change (ms)
-- Returns {version, holder of KEYS[2] or false, ...}. A showtime never numbered (or whose
-- version Redis lost) is numbered now, so every reading has a version.
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[1] == '1' or version == 0 then
  -- seats/holds.py, "Versions": above every one before, even one Redis lost.
  local clock = redis.call('TIME')
  version = math.max(redis.call('INCR', KEYS[1]), clock[1] * 1000000 + clock[2])
  redis.call('SET', KEYS[1], string.format('%d', version), 'PX', ARGV[2])
end
local reply = {version}
for i = 2, #KEYS do
  reply[i] = redis.call('GET', KEYS[i])
end
return reply
