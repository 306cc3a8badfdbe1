-- Quota buckets in Redis: one call per reserve, one per settle, on Redis server time.
-- KEYS: one hash per bucket (all with the same hash tag, so Redis Cluster works).
-- reserve: ARGV = 'reserve', lease_ms, reservation id, then per bucket: window, limit, amount, label.
-- settle:  ARGV = 'settle', reservation id, then per bucket: window, actual amount.
-- Each hash: w (window id), spent, limit, label, next (earliest lease end),
--            h:<id> = "<amount>:<lease end ms>" for live holds.
-- reserve returns {1, remaining...} when granted, {0, index, used, resets_at_ms} when refused;
-- settle returns {1}.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m > 2) and (m - 3) or (m + 9)
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = (mp < 10) and (mp + 3) or (mp - 9)
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m
end

-- window id and end (ms; -1 = never)
local function window(kind)
  if kind == 'minute' then
    local id = math.floor(now / 60000); return id, (id + 1) * 60000
  elseif kind == 'day' then
    local id = math.floor(now / 86400000); return id, (id + 1) * 86400000
  elseif kind == 'month' then
    local y, m = civil_from_days(math.floor(now / 86400000))
    local ny, nm = y, m + 1
    if nm == 13 then ny, nm = y + 1, 1 end
    return y * 12 + m - 1, days_from_civil(ny, nm, 1) * 86400000
  end
  return 0, -1
end

-- Moves a bucket to the current window and drops expired holds; returns spent + reserved.
local function roll(key, kind)
  local wid, ends = window(kind)
  local w = redis.call('HGET', key, 'w')
  if w == false or tonumber(w) ~= wid then
    redis.call('HSET', key, 'w', wid, 'spent', 0)
  end
  return ends
end

local function refresh(key, kind)
  local ends = roll(key, kind)
  local spent = tonumber(redis.call('HGET', key, 'spent') or '0')
  local reserved = 0
  local next_end = -1
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local f = fields[i]
    if string.sub(f, 1, 2) == 'h:' then
      local v = fields[i + 1]
      local sep = string.find(v, ':', 1, true)
      local amount = tonumber(string.sub(v, 1, sep - 1))
      local until_ms = tonumber(string.sub(v, sep + 1))
      if until_ms <= now then
        redis.call('HDEL', key, f)
      else
        reserved = reserved + amount
        if next_end < 0 or until_ms < next_end then next_end = until_ms end
      end
    end
  end
  return spent + reserved, ends
end

if ARGV[1] == 'settle' then
  local id = ARGV[2]
  for i = 1, #KEYS do
    local kind, actual = ARGV[3 + (i - 1) * 2], tonumber(ARGV[4 + (i - 1) * 2])
    redis.call('HDEL', KEYS[i], 'h:' .. id)
    -- A window that rolled over while the request ran: the cost lands in the new window.
    local ends = roll(KEYS[i], kind)
    redis.call('HINCRBY', KEYS[i], 'spent', actual)
    if redis.call('PTTL', KEYS[i]) < 0 then
      local expire_at = (ends < 0) and (now + 2592000000) or ends
      redis.call('PEXPIREAT', KEYS[i], expire_at + 60000)
    end
  end
  return {1}
end

local lease = tonumber(ARGV[2])
local id = ARGV[3]
local n = #KEYS
local remaining = {}
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local kind, limit, amount = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local used, ends = refresh(KEYS[i], kind)
  if used + amount > limit then
    return {0, i, used, ends}
  end
  remaining[i] = limit - used - amount
end
local lease_end = now + lease
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local kind, limit, amount, label = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local key = KEYS[i]
  redis.call('HSET', key, 'h:' .. id, amount .. ':' .. lease_end, 'limit', limit, 'label', label, 'kind', kind)
  local _, ends = window(kind)
  local expire_at = (ends < 0) and (now + 2592000000) or ends
  redis.call('PEXPIREAT', key, math.max(expire_at, lease_end) + 60000)
end
local out = {1}
for i = 1, n do out[i + 1] = remaining[i] end
return out
