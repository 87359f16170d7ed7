-- Hold every requested seat of one showtime for one token, or none of them.
-- KEYS[1]    fence counter (STRING)  holds:{st<id>}:fence
-- KEYS[2]    expiry index (ZSET)     holds:{st<id>}:exp          member = label, score = expiry ms
-- KEYS[3]    hold meta (HASH)        hold:{st<id>}:meta:<token>  fields extensions, created (ms)
-- KEYS[4..]  seat keys (STRING)      hold:{st<id>}:<label>       value = token
-- ARGV[1] token, ARGV[2] ttl ms, ARGV[3] now ms (caller's clock),
-- ARGV[4] how long the index outlives its newest hold (ms),
-- ARGV[5..] seat labels, in the order of KEYS[4..]
-- Returns {1, fence, expires_ms} when every seat is held, or {0, {labels held by others}}.
local token, ttl, now, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

-- PEXPIRE alone could shorten a key that another, longer hold still relies on.
local function keep_at_least(key, ms)
  if redis.call('PTTL', key) < ms then
    redis.call('PEXPIRE', key, ms)
  end
end

-- Every read before any write: a conflict must leave no trace at all.
local conflicts = {}
for i = 4, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= token then
    conflicts[#conflicts + 1] = ARGV[i + 1]
  end
end
if #conflicts > 0 then
  return {0, conflicts}
end

local expires = now + ttl
local index = {}
for i = 4, #KEYS do
  redis.call('SET', KEYS[i], token, 'PX', ttl)
  index[#index + 1] = expires
  index[#index + 1] = ARGV[i + 1]
end
redis.call('ZADD', KEYS[2], unpack(index))
keep_at_least(KEYS[2], ttl + grace)
-- Only a new token gets its meta: a refresh keeps the original start and extension count.
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('HSET', KEYS[3], 'created', now, 'extensions', 0)
end
keep_at_least(KEYS[3], ttl)
local fence = redis.call('INCR', KEYS[1])
return {1, fence, expires}
