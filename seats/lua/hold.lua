-- Hold the first of some candidate blocks of one showtime's seats whose every seat is free (or
-- already this token's) for one token, or nothing, and never past the owner's deadline: its
-- first hold on the showtime plus the longest a hold may live. A chosen selection is one block;
-- best available passes its ranked blocks, so choosing among them and holding are one step.
-- KEYS[1]    fence counter (STRING)  holds:{st<id>}:fence
-- KEYS[2]    expiry index (ZSET)     holds:{st<id>}:exp            member = label, score = expiry ms
-- KEYS[3]    hold meta (HASH)        hold:{st<id>}:meta:<token>    fields extensions, fence
-- KEYS[4]    owner's window (STRING) hold:{st<id>}:window:<owner>  value = deadline ms
-- KEYS[5]    seat-state version      holds:{st<id>}:version
-- KEYS[6..]  seat keys (STRING)      hold:{st<id>}:<label>         value = token; each once
-- ARGV[1] token, ARGV[2] ttl ms, ARGV[3] now ms (caller's clock),
-- ARGV[4] how long the index outlives its newest hold (ms),
-- ARGV[5] longest life of an owner's holds from the first (ms),
-- ARGV[6] how long after that deadline the owner may not hold again (ms),
-- ARGV[7] the highest fence ever handed out, from the database ('' when not looked up),
-- ARGV[8] how long the version outlives its last change (ms),
-- ARGV[9] n, the seats in each block,
-- ARGV[10 .. 9+m] the labels of the m seat keys, in the order of KEYS[6..],
-- then the blocks, best first, each n + 4 numbers: its seats' positions among the seat keys
-- (1..m), then two guards (lone, beyond) (0 0 for none): the block is passed over when seat
-- `lone` is free and seat `beyond` is not, as it would leave `lone` alone beside a taken seat.
-- Returns {1, fence, expires_ms, b} when every seat of block b (1-based) is held,
-- {0, {labels of the first block held by others}} when no block is free,
-- {2, ms until the owner may hold again} past the deadline, or {3} when the fence counter is
-- missing (Redis lost it) and ARGV[7] is empty: ask again with the database's highest fence.
local token, ttl, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local grace, life, cooldown, floor = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local n, m = tonumber(ARGV[9]), #KEYS - 5
local LABELS, BLOCKS = 9, 9 + m  -- seat i is KEYS[5 + i], labelled ARGV[LABELS + i]

-- PEXPIRE alone could shorten a key that another, longer hold still relies on.
local function keep_at_least(key, ms)
  if redis.call('PTTL', key) < ms then
    redis.call('PEXPIRE', key, ms)
  end
end

-- Every read before any write: a refusal must leave no trace at all.
local deadline = tonumber(redis.call('GET', KEYS[4]) or (now + life))
if now >= deadline then
  return {2, math.max(redis.call('PTTL', KEYS[4]), 0)}
end
local holders = {}
local function free(i)
  if holders[i] == nil then
    holders[i] = redis.call('GET', KEYS[5 + i]) or false
  end
  return holders[i] == false or holders[i] == token
end
local chosen, refused
for b = BLOCKS + 1, #ARGV, n + 4 do
  local conflicts = {}
  for j = b, b + n - 1 do
    local i = tonumber(ARGV[j])
    if not free(i) then
      conflicts[#conflicts + 1] = ARGV[LABELS + i]
    end
  end
  local strands = false
  for g = b + n, b + n + 2, 2 do
    local lone, beyond = tonumber(ARGV[g]), tonumber(ARGV[g + 1])
    strands = strands or (lone > 0 and free(lone) and not free(beyond))
  end
  if #conflicts == 0 and not strands then
    chosen = b
    break
  end
  refused = refused or conflicts
end
if not chosen then
  return {0, refused or {}}
end
-- A fence must never repeat, even after Redis lost the counter: start again above the database.
-- (1 means the counter was missing; without a floor, take it back so the refusal leaves no trace.)
local fence = redis.call('INCR', KEYS[1])
if fence == 1 then
  if floor == '' then
    redis.call('DEL', KEYS[1])
    return {3}
  end
  fence = tonumber(floor) + 1
  redis.call('SET', KEYS[1], fence)
end

local expires = math.min(now + ttl, deadline)
local index = {}
for j = chosen, chosen + n - 1 do
  local i = tonumber(ARGV[j])
  redis.call('SET', KEYS[5 + i], token, 'PX', expires - now)
  index[#index + 1] = expires
  index[#index + 1] = ARGV[LABELS + i]
end
redis.call('ZADD', KEYS[2], unpack(index))
keep_at_least(KEYS[2], expires - now + grace)
-- The window is set once, by the first hold: changing the selection, refreshing, or cancelling
-- and holding again all keep the first deadline. It outlives the deadline by the cooldown, so
-- the owner cannot take the same seats straight back when they come free.
redis.call('SET', KEYS[4], deadline, 'PX', life + cooldown, 'NX')
-- Only a new token starts at no extensions; the meta lives as long as the deadline.
redis.call('HSETNX', KEYS[3], 'extensions', 0)
redis.call('HSET', KEYS[3], 'fence', fence)
-- The deadline never moves, so "until the deadline" can be set outright, never shortening it.
redis.call('PEXPIRE', KEYS[3], deadline - now)
-- The change's number (seats/holds.py, "Versions"): above every one before, even one Redis lost.
local clock = redis.call('TIME')
local version = math.max(redis.call('INCR', KEYS[5]), clock[1] * 1000000 + clock[2])
redis.call('SET', KEYS[5], string.format('%d', version), 'PX', ARGV[8])
return {1, fence, expires, (chosen - BLOCKS - 1) / (n + 4) + 1}
