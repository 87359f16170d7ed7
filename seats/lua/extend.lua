-- Extend a hold, only while the token still owns every seat, the cap is not reached and the
-- owner's deadline is not: an extension never reaches past it.
-- KEYS[1]    expiry index (ZSET)     holds:{st<id>}:exp            member = label, score = expiry ms
-- KEYS[2]    hold meta (HASH)        hold:{st<id>}:meta:<token>    fields extensions, fence
-- KEYS[3]    owner's window (STRING) hold:{st<id>}:window:<owner>  value = deadline ms
-- KEYS[4..]  seat keys (STRING)      hold:{st<id>}:<label>         value = token
-- ARGV[1] token, ARGV[2] ttl ms, ARGV[3] now ms (caller's clock),
-- ARGV[4] how long the index outlives its newest hold (ms), ARGV[5] max extensions,
-- ARGV[6..] seat labels, in the order of KEYS[4..]
-- Returns {1, expires_ms} extended, {0, {labels no longer owned}}, or {2} the cap or the
-- deadline is reached.
local token, ttl, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local grace, cap = tonumber(ARGV[4]), tonumber(ARGV[5])

local function keep_at_least(key, ms)
  if redis.call('PTTL', key) < ms then
    redis.call('PEXPIRE', key, ms)
  end
end

local lost = {}
for i = 4, #KEYS do
  if redis.call('GET', KEYS[i]) ~= token then
    lost[#lost + 1] = ARGV[i + 2]
  end
end
if #lost > 0 then
  return {0, lost}
end
if tonumber(redis.call('HGET', KEYS[2], 'extensions') or '0') >= cap then
  return {2}
end
-- A held seat without its window (Redis lost it) gets no more than one period from now.
local deadline = tonumber(redis.call('GET', KEYS[3]) or (now + ttl))
if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[6]) or now) >= deadline then
  return {2}
end
local expires = math.min(now + ttl, deadline)

for i = 4, #KEYS do
  redis.call('PEXPIRE', KEYS[i], expires - now)
  redis.call('ZADD', KEYS[1], expires, ARGV[i + 2])
end
keep_at_least(KEYS[1], expires - now + grace)
redis.call('HINCRBY', KEYS[2], 'extensions', 1)
keep_at_least(KEYS[2], expires - now)
return {1, expires}
