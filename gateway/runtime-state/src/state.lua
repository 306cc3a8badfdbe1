-- Runtime admin state: one compare-and-set write. KEYS[1] the records hash (id -> "rev:json"),
-- KEYS[2] the store-wide revision counter. ARGV: op (put|del), id, expected ("absent", "any"
-- or a revision), json (put only).
-- Answers {1, new_rev} on success, {0, current_rev} on a conflict (0 = absent).
local cur = redis.call('HGET', KEYS[1], ARGV[2])
local cur_rev = 0
if cur then cur_rev = tonumber(string.match(cur, '^(%d+):')) or 0 end
local expected = ARGV[3]
if expected == 'absent' then
  if cur_rev ~= 0 then return {0, cur_rev} end
elseif cur_rev == 0 then
  return {0, 0}
elseif expected ~= 'any' and tonumber(expected) ~= cur_rev then
  return {0, cur_rev}
end
local rev = redis.call('INCR', KEYS[2])
if ARGV[1] == 'put' then
  redis.call('HSET', KEYS[1], ARGV[2], rev .. ':' .. ARGV[4])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
end
return {1, rev}
