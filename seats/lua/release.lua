-- Release the seats this token holds; seats held by anyone else are left alone.
-- KEYS[1]   expiry index (ZSET)  holds:{st<id>}:exp
-- KEYS[2..] seat keys            hold:{st<id>}:<label>
-- ARGV[1] token, ARGV[2..] seat labels (same order as KEYS[2..])
-- Returns the labels released.
local released = {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
    released[#released + 1] = ARGV[i]
  end
end
return released
