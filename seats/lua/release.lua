-- Release the seats this token holds; seats held by any other token are left alone.
-- KEYS[1]    expiry index (ZSET)  holds:{st<id>}:exp     member = label, score = expiry ms
-- KEYS[2..]  seat keys (STRING)   hold:{st<id>}:<label>  value = token
-- ARGV[1] token, ARGV[2..] seat labels, in the order of KEYS[2..]
-- Returns the labels released.
-- The meta key is kept until its TTL: releasing and holding again with the same token must not
-- reset the extension count.
local released, keys = {}, {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    keys[#keys + 1] = KEYS[i]
    released[#released + 1] = ARGV[i]
  end
end
if #released > 0 then
  redis.call('DEL', unpack(keys))
  redis.call('ZREM', KEYS[1], unpack(released))
end
return released
