-- Release the seats this token holds, or mark them sold; seats of any other token are left alone.
-- KEYS[1]    expiry index (ZSET)    holds:{st<id>}:exp     member = label, score = expiry ms
-- KEYS[2]    seat-state version     holds:{st<id>}:version
-- KEYS[3..]  seat keys (STRING)     hold:{st<id>}:<label>  value = token, or 'sold:' .. token
-- ARGV[1] token, ARGV[2] ms to keep a sold mark ('0': release, and drop this token's sold marks),
-- ARGV[3] how long the version outlives its last change (ms),
-- ARGV[4..] seat labels, in the order of KEYS[3..]
-- Returns the labels released or marked.
-- The meta key is kept until its TTL: releasing and holding again with the same token must not
-- reset the extension count.
local token, sold_ms = ARGV[1], tonumber(ARGV[2])
local FIRST_SEAT = 3
local mark = 'sold:' .. token
local released, keys = {}, {}
for i = FIRST_SEAT, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder == token or (sold_ms == 0 and holder == mark) then
    keys[#keys + 1] = KEYS[i]
    released[#released + 1] = ARGV[i + 1]
  end
end
if #released > 0 then
  if sold_ms > 0 then
    -- A sold seat's mark makes every later hold a conflict until the tickets are surely visible
    -- to anyone who read the sold seats before this.
    for _, key in ipairs(keys) do
      redis.call('SET', key, mark, 'PX', sold_ms)
    end
  else
    redis.call('DEL', unpack(keys))
  end
  redis.call('ZREM', KEYS[1], unpack(released))
  -- The change's number (seats/holds.py, "Versions"): above every one before.
  local clock = redis.call('TIME')
  local version = math.max(redis.call('INCR', KEYS[2]), clock[1] * 1000000 + clock[2])
  redis.call('SET', KEYS[2], string.format('%d', version), 'PX', ARGV[3])
end
return released
