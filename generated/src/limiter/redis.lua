-- copper-bulk's shared rate limiter: decides one permit, or records one
-- refusal, atomically for every limit of an account at once. It keeps the
-- rules of the in-process throttle (copper_bulk_raw::throttle::Throttle);
-- the Rust side (limiter/redis.rs) says why, this file says how.
--
-- Every time is Redis's own (TIME, in microseconds since the epoch), so that
-- processes on hosts whose clocks disagree compare times on one clock.
-- Numbers are written with string.format('%.0f'), because Lua's tostring
-- keeps only 14 digits and a time in microseconds has 16.
--
-- KEYS[1]  the pause: when every request may be sent again
-- KEYS[2]  a counter that makes the members of the rolling windows unique
-- KEYS[3 .. 2+S]  one hash per spaced limit: next, extra, given, widened_at
-- KEYS[3+S .. 2+S+R]  one sorted set per rolling limit: its requests, by time
--
-- ARGV[1]  'acquire' or 'refused'
-- ARGV[2]  S, the number of spaced limits
-- ARGV[3]  R, the number of rolling limits
-- ARGV[4]  refused: how long every request pauses (microseconds)
-- ARGV[5]  refused: when the refused request was sent, on Redis's clock,
--          or '' when not known (then: now)
-- ARGV[6]  refused: 1 when the refusal may widen the spacing (a bulk
--          request), 0 otherwise
-- then, per spaced limit: spacing, per (microseconds), counts this
--          request's kind (0/1), counts bulk requests (0/1); the spacing is
--          the calling process's own, applied to the state every process
--          of the account shares (keys are named by window, not by rate)
-- then, per rolling limit: requests, length (per + margin, microseconds),
--          counts this request's kind (0/1)
--
-- Returns {granted, wait, now, pace}: granted is 1 when the request may go
-- now and has taken its places, 0 when it must wait `wait` microseconds and
-- ask again (no place is taken then); pace is the spacing of bulk requests
-- (the widest spaced limit counting them, with its widening), or -1 when
-- none spaces them. A refusal returns granted = 0 and wait = 0.

local WIDEN_DIVISOR = 16
local NARROW_STEP = 1000
local NARROW_AFTER = 16
local NARROW_DIVISOR = 64
local MAX_WIDENING = 4
-- How long an idle account's keys stay: long enough that a short gap
-- between two runs keeps the widened spacing, short enough that an account
-- no one uses leaves nothing behind.
local IDLE_MS = 120000

local function str(n)
  return string.format('%.0f', n)
end

local function ms(us)
  return math.ceil(us / 1000)
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local op = ARGV[1]
local s = tonumber(ARGV[2])
local r = tonumber(ARGV[3])
local pause_key = KEYS[1]
local seq_key = KEYS[2]

local spaced = {}
for i = 1, s do
  local a = 6 + (i - 1) * 4
  local key = KEYS[2 + i]
  local state = redis.call('HMGET', key, 'next', 'extra', 'given', 'widened_at')
  spaced[i] = {
    key = key,
    spacing = tonumber(ARGV[a + 1]),
    per = tonumber(ARGV[a + 2]),
    counts = ARGV[a + 3] == '1',
    bulk = ARGV[a + 4] == '1',
    next = tonumber(state[1]),
    extra = tonumber(state[2]) or 0,
    given = tonumber(state[3]) or 0,
    widened_at = tonumber(state[4]),
  }
end

local rolling = {}
for i = 1, r do
  local a = 6 + s * 4 + (i - 1) * 3
  rolling[i] = {
    key = KEYS[2 + s + i],
    requests = tonumber(ARGV[a + 1]),
    length = tonumber(ARGV[a + 2]),
    counts = ARGV[a + 3] == '1',
  }
end

-- The spaced state outlives the next place by a window of the limit (so
-- that a refusal still finds when the spacing last widened), and stays at
-- least as long as an idle account's keys do.
local function save_spaced(l)
  redis.call('HSET', l.key, 'next', str(l.next or now), 'extra', str(l.extra),
    'given', str(l.given), 'widened_at', str(l.widened_at or 0))
  local keep = math.max(IDLE_MS, ms((l.next or now) - now + l.per))
  redis.call('PEXPIRE', l.key, keep)
end

local function pace()
  local widest = -1
  for _, l in ipairs(spaced) do
    if l.bulk then
      widest = math.max(widest, l.spacing + l.extra)
    end
  end
  return widest
end

if op == 'refused' then
  -- A pause already in effect that ends later is kept: a shorter one does
  -- not cut it short.
  local until_ = now + tonumber(ARGV[4])
  local current = tonumber(redis.call('GET', pause_key))
  if current == nil or current < until_ then
    redis.call('SET', pause_key, str(until_), 'PX', ms(until_ - now) + 1000)
  end
  if ARGV[6] == '1' then
    local sent_at = tonumber(ARGV[5]) or now
    for _, l in ipairs(spaced) do
      -- Requests sent before the widening, or within a window after it,
      -- met arrivals from before it: the same crowding, already answered.
      if l.counts and not (l.widened_at and l.widened_at > 0 and sent_at <= l.widened_at + l.per) then
        local spacing = l.spacing + l.extra
        local widest = l.spacing * MAX_WIDENING
        local wider = math.min(spacing + math.floor(spacing / WIDEN_DIVISOR), widest)
        l.extra = math.max(0, wider - l.spacing)
        l.given = 0
        l.widened_at = now
        save_spaced(l)
      end
    end
  end
  return {0, 0, now, pace()}
end

-- Every limit is asked before any place is taken, so that either all are
-- taken at this instant or none is: a request that took one limit's place
-- and then waited for another's would go out later than its first place
-- says.
local paused_until = tonumber(redis.call('GET', pause_key))
if paused_until and paused_until > now then
  return {0, paused_until - now, now, pace()}
end

local wait = 0
for _, l in ipairs(spaced) do
  if l.counts and l.next and l.next > now then
    wait = math.max(wait, l.next - now)
  end
end
-- A rolling limit is a log of its requests, not a GCRA schedule with a
-- burst of its size: such a bucket, full at the end of one minute and full
-- again at once, lets 360 requests into a minute's window that straddles
-- the two, where the log lets in 180 in any window however it falls.
for _, l in ipairs(rolling) do
  if l.counts then
    -- A request leaves the window once it is the window's length old.
    redis.call('ZREMRANGEBYSCORE', l.key, '-inf', str(now - l.length))
    if redis.call('ZCARD', l.key) >= l.requests then
      local oldest = redis.call('ZRANGE', l.key, 0, 0, 'WITHSCORES')
      wait = math.max(wait, tonumber(oldest[2]) + l.length - now)
    end
  end
end
if wait > 0 then
  return {0, wait, now, pace()}
end

for _, l in ipairs(spaced) do
  if l.counts then
    l.next = now + l.spacing + l.extra
    -- Only a widened spacing counts its places, toward narrowing: a
    -- millisecond every 16 places, or a 64th of the widening when that is
    -- more, never below the limit's own spacing.
    if l.extra > 0 then
      l.given = l.given + 1
      if l.given >= NARROW_AFTER then
        local step = math.max(NARROW_STEP, math.floor(l.extra / NARROW_DIVISOR))
        l.extra = math.max(0, l.extra - step)
        l.given = 0
      end
    end
    save_spaced(l)
  end
end
if r > 0 then
  local seq = redis.call('INCR', seq_key)
  redis.call('PEXPIRE', seq_key, IDLE_MS)
  for _, l in ipairs(rolling) do
    if l.counts then
      redis.call('ZADD', l.key, str(now), str(now) .. ':' .. seq)
      redis.call('PEXPIRE', l.key, ms(l.length) + 1000)
    end
  end
end
return {1, 0, now, pace()}
