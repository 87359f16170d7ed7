-- Extend a hold, only while the token still owns every seat and under the extension cap.
-- KEYS[1]   expiry index (ZSET)  holds:{st<id>}:exp
-- KEYS[2]   hold meta (HASH)     hold:{st<id>}:meta:<token>
-- KEYS[3..] seat keys            hold:{st<id>}:<label>
-- ARGV[1] token, ARGV[2] ttl ms, ARGV[3] now ms, ARGV[4] max extensions,
-- ARGV[5..] seat labels (same order as KEYS[3..])
-- Returns {1, expires_ms} extended, {0} a seat is no longer owned, {2} the cap is reached.
local token, ttl, now, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) ~= token then
    return {0}
  end
end
local used = tonumber(redis.call('HGET', KEYS[2], 'extensions') or '0')
if used >= cap then
  return {2}
end
local expires = now + ttl
for i = 3, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ttl)
  redis.call('ZADD', KEYS[1], expires, ARGV[i + 2])
end
redis.call('HINCRBY', KEYS[2], 'extensions', 1)
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, expires}
