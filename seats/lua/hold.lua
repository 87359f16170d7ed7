-- Hold every seat for one token, or none of them.
-- KEYS[1]   fence counter        holds:{st<id>}:fence
-- KEYS[2]   expiry index (ZSET)  holds:{st<id>}:exp   member = seat label, score = expiry ms
-- KEYS[3]   hold meta (HASH)     hold:{st<id>}:meta:<token>
-- KEYS[4..] seat keys            hold:{st<id>}:<label>
-- ARGV[1] token, ARGV[2] ttl ms, ARGV[3] now ms, ARGV[4..] seat labels (same order as KEYS[4..])
-- Returns {1, fence, expires_ms} or {0, {conflicting labels}}.
local token, ttl, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local conflicts = {}
for i = 4, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= token then
    conflicts[#conflicts + 1] = ARGV[i]
  end
end
if #conflicts > 0 then
  return {0, conflicts}
end
local expires = now + ttl
for i = 4, #KEYS do
  redis.call('SET', KEYS[i], token, 'PX', ttl)
  redis.call('ZADD', KEYS[2], expires, ARGV[i])
end
local fence = redis.call('INCR', KEYS[1])
redis.call('HSETNX', KEYS[3], 'extensions', 0)
redis.call('HSET', KEYS[3], 'fence', fence)
redis.call('PEXPIRE', KEYS[3], ttl)
return {1, fence, expires}
