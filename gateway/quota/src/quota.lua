-- Quota buckets in Redis: one call per reserve, one per settle, on Redis server time. Each
-- bucket costs a reserve one HMGET and one HSET, a settle one HMGET, one HDEL and one HSET
-- (plus, rarely, a scan of expired holds or an extended expiry).
-- KEYS: one hash per bucket (all with the same hash tag, so Redis Cluster works).
-- reserve: ARGV = 'reserve', lease_ms, reservation id, then per bucket: window, limit, amount, label.
-- settle:  ARGV = 'settle', reservation id, then per bucket: window, actual amount.
-- Each hash: w (window id), spent, limit, label, kind, reserved (sum of the live holds),
--            next (earliest lease end, -1 = none; never later than the earliest live hold),
--            exp (the key's expiry as last set, so that it is extended only when needed),
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

-- Integers leave the script as digits (a Lua number would be sent in its shortest form, which
-- may be an exponent).
local function int(x)
  return string.format('%.0f', x)
end

local function expire_at(ends)
  return (ends < 0) and (now + 2592000000) or ends
end

-- Reads a bucket (one HMGET), moving it to the current window, and drops expired holds when
-- one may have expired: the scan is skipped while `next`, the earliest lease end, is in the
-- future. Returns the bucket's state and the fields to write back (none read, only changed).
local function refresh(key, kind)
  local wid, ends = window(kind)
  local f = redis.call('HMGET', key, 'w', 'spent', 'reserved', 'next', 'exp')
  local b = {
    ends = ends,
    spent = tonumber(f[2] or '') or 0,
    reserved = tonumber(f[3] or ''),
    next_end = tonumber(f[4] or ''),
    exp = tonumber(f[5] or '') or -1,
    writes = {},
  }
  if f[1] == false or tonumber(f[1]) ~= wid then
    b.spent = 0
    table.insert(b.writes, 'w'); table.insert(b.writes, wid)
    table.insert(b.writes, 'spent'); table.insert(b.writes, 0)
  end
  -- A bucket written before the running sum existed has neither field: scan it once.
  if b.reserved == nil or b.next_end == nil or (b.next_end >= 0 and b.next_end <= now) then
    local reserved, next_end = 0, -1
    local fields = redis.call('HGETALL', key)
    for i = 1, #fields, 2 do
      local name = fields[i]
      if string.sub(name, 1, 2) == 'h:' then
        local v = fields[i + 1]
        local sep = string.find(v, ':', 1, true)
        local amount = tonumber(string.sub(v, 1, sep - 1))
        local until_ms = tonumber(string.sub(v, sep + 1))
        if until_ms <= now then
          redis.call('HDEL', key, name)
        else
          reserved = reserved + amount
          if next_end < 0 or until_ms < next_end then next_end = until_ms end
        end
      end
    end
    b.reserved, b.next_end = reserved, next_end
    table.insert(b.writes, 'reserved'); table.insert(b.writes, int(reserved))
    table.insert(b.writes, 'next'); table.insert(b.writes, int(next_end))
  end
  return b
end

if ARGV[1] == 'settle' then
  local hold = 'h:' .. ARGV[2]
  for i = 1, #KEYS do
    local key = KEYS[i]
    local kind, actual = ARGV[3 + (i - 1) * 2], tonumber(ARGV[4 + (i - 1) * 2])
    local f = redis.call('HMGET', key, hold, 'w', 'spent', 'reserved', 'exp')
    local writes = {}
    if f[1] then
      redis.call('HDEL', key, hold)
      local reserved = tonumber(f[4] or '')
      if reserved ~= nil then
        local sep = string.find(f[1], ':', 1, true)
        local amount = tonumber(string.sub(f[1], 1, sep - 1))
        -- `next` may now be earlier than the earliest live hold: that costs one scan, later.
        table.insert(writes, 'reserved'); table.insert(writes, int(math.max(reserved - amount, 0)))
      end
    end
    -- A window that rolled over while the request ran: the cost lands in the new window.
    local wid, ends = window(kind)
    local spent = tonumber(f[3] or '') or 0
    if f[2] == false or tonumber(f[2]) ~= wid then
      spent = 0
      table.insert(writes, 'w'); table.insert(writes, wid)
    end
    table.insert(writes, 'spent'); table.insert(writes, int(spent + actual))
    -- The key lives until its window ends (a key recreated here, or a new window, extends it).
    local needed = expire_at(ends) + 60000
    local exp = tonumber(f[5] or '') or -1
    if exp < needed then
      redis.call('PEXPIREAT', key, needed)
      table.insert(writes, 'exp'); table.insert(writes, int(needed))
    end
    redis.call('HSET', key, unpack(writes))
  end
  return {1}
end

local lease = tonumber(ARGV[2])
local id = ARGV[3]
local n = #KEYS
local remaining, buckets = {}, {}
for i = 1, n do
  local a = 3 + (i - 1) * 4
  local kind, limit, amount = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local b = refresh(KEYS[i], kind)
  buckets[i] = b
  local used = b.spent + b.reserved
  if used + amount > limit then
    -- What was read changed (a new window, expired holds dropped): keep it before refusing.
    for j = 1, i do
      if #buckets[j].writes > 0 then redis.call('HSET', KEYS[j], unpack(buckets[j].writes)) end
    end
    return {0, i, used, b.ends}
  end
  remaining[i] = limit - used - amount
end
local lease_end = now + lease
for i = 1, n do
  local a = 3 + (i - 1) * 4
  local kind, limit, amount, label = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local key, b = KEYS[i], buckets[i]
  local writes = b.writes
  local next_end = b.next_end
  if next_end < 0 or lease_end < next_end then next_end = lease_end end
  for _, v in ipairs({'h:' .. id, amount .. ':' .. lease_end, 'limit', limit, 'label', label,
      'kind', kind, 'reserved', int(b.reserved + tonumber(amount)), 'next', int(next_end)}) do
    table.insert(writes, v)
  end
  -- The key outlives its window and every lease on it. Extended with a lease of slack, so
  -- that it is not extended on every call.
  local needed = math.max(expire_at(b.ends), lease_end) + 60000
  if b.exp < needed then
    local exp = math.max(expire_at(b.ends), lease_end + lease) + 60000
    redis.call('PEXPIREAT', key, exp)
    table.insert(writes, 'exp'); table.insert(writes, int(exp))
  end
  redis.call('HSET', key, unpack(writes))
end
local out = {1}
for i = 1, n do out[i + 1] = remaining[i] end
return out
