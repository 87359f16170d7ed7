-- An anonymous visitor signed in: their place becomes the account's. If the account already
-- had a place (another tab, another device), it keeps the better of the two.
-- KEYS: queue, active. ARGV: old member, new member.
local account_active = redis.call("ZSCORE", KEYS[2], ARGV[2])
for _, key in ipairs(KEYS) do
  local old = redis.call("ZSCORE", key, ARGV[1])
  if old and key == KEYS[1] and account_active then
    redis.call("ZREM", key, ARGV[1])  -- already shopping: the queued place is not needed
  elseif old then
    local new = redis.call("ZSCORE", key, ARGV[2])
    local better = old
    if new and ((key == KEYS[1] and tonumber(new) < tonumber(old)) or
                (key == KEYS[2] and tonumber(new) > tonumber(old))) then
      better = new
    end
    redis.call("ZREM", key, ARGV[1])
    redis.call("ZADD", key, better, ARGV[2])
  end
end
return 1
