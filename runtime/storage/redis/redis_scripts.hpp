// The server-side Lua scripts of the Redis Bus: each runs atomically on the server, so a push
// (dedupe keys + XADD + poll cursor), an ack (XACK + XDEL + the dedupe key's expiry) or a
// heartbeat (instance registry + partition leases) is one round trip and never half applied.
// Called with EVALSHA, falling back to EVAL (redis_bus.cpp, redis_partitions.cpp).
#pragma once

namespace botfn::storage::redis::scripts {

// KEYS: seq, poll hash, then per item its partition's stream and its dedupe key.
// ARGV: cursor bot ('' for none), cursor offset, then bot, update_id, lane, kind, body per item.
// Returns per item the entry id (the stream id is "<id>-0"), or 0 for a Duplicate.
// The dedupe key holds the receipt time (unix s) and has no TTL while its entry is queued: the ack
// sets the rest of the window, so a repeat of a queued update stays a Duplicate however long it
// waits. seq starts at the server's clock in microseconds, so ids handed out after Redis lost its
// data are still above every id an instance may hold from before. One seq for all partitions:
// an entry id names one entry whatever its stream.
inline constexpr const char* kPush = R"lua(
local t = redis.call('TIME')
redis.call('SET', KEYS[1], t[1] .. string.sub('000000' .. t[2], -6), 'NX')
local out = {}
for i = 1, (#KEYS - 2) / 2 do
  local a = 2 + (i - 1) * 5
  local stream, seen = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  if redis.call('SET', seen, t[1], 'NX') then
    local id = redis.call('INCR', KEYS[1])
    redis.call('XADD', stream, string.format('%.0f', id) .. '-0', 'b', ARGV[a + 1],
               'u', ARGV[a + 2], 'l', ARGV[a + 3], 'k', ARGV[a + 4], 'd', ARGV[a + 5])
    out[i] = id
  else
    out[i] = 0
  end
end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return out
)lua";

// KEYS: per entry its stream and its dedupe key. ARGV: group, window_s, then the stream ids.
// XDEL keeps each stream as long as its unacked work, so XLEN is the queue depth.
inline constexpr const char* kAck = R"lua(
local now = tonumber(redis.call('TIME')[1])
local window = tonumber(ARGV[2])
for i = 3, #ARGV do
  local stream, key = KEYS[2 * (i - 2) - 1], KEYS[2 * (i - 2)]
  redis.call('XACK', stream, ARGV[1], ARGV[i])
  redis.call('XDEL', stream, ARGV[i])
  local at = tonumber(redis.call('GET', key) or '')
  if at and redis.call('TTL', key) == -1 then
    local left = at + window - now
    if left > 0 then redis.call('EXPIRE', key, left) else redis.call('DEL', key) end
  end
end
return #ARGV - 2
)lua";

// One heartbeat of an instance (redis_partitions.cpp): registers it as alive, releases the
// partitions it drained, renews the leases it holds and takes free partitions up to its fair
// share (ceil(partitions / live instances)). A lease key holds "<instance>|<fencing token>"; the
// token comes from one counter, so a partition's every new lease has a larger token.
// KEYS: instances zset, token counter, this instance's health hash, then one lease key per
// partition. ARGV: instance, lease ms, first partition to try, 'stop' or '', pid, then the
// partitions to release. 'stop' releases every lease of the instance and unregisters it.
// Returns {live instances, fair share, partition, token, partition, token, ...} of what it holds.
inline constexpr const char* kHeartbeat = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me, lease = ARGV[1], tonumber(ARGV[2])
local parts = #KEYS - 3
local function owner(v)
  if not v then return nil end
  return string.match(v, '^(.*)|%d+$')
end
local released = {}
for i = 6, #ARGV do
  local p = tonumber(ARGV[i])
  local k = KEYS[4 + p]
  if owner(redis.call('GET', k)) == me then redis.call('DEL', k) end
  released[p] = true
end
if ARGV[4] == 'stop' then
  for p = 0, parts - 1 do
    local k = KEYS[4 + p]
    if owner(redis.call('GET', k)) == me then redis.call('DEL', k) end
  end
  redis.call('ZREM', KEYS[1], me)
  redis.call('DEL', KEYS[3])
  return {0, 0}
end
redis.call('ZADD', KEYS[1], now + lease, me)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = redis.call('ZCARD', KEYS[1])
local fair = math.ceil(parts / live)
local out = {live, fair}
local mine = 0
for p = 0, parts - 1 do
  local k = KEYS[4 + p]
  local v = redis.call('GET', k)
  if v and owner(v) == me then
    redis.call('PEXPIRE', k, lease)
    mine = mine + 1
    out[#out + 1] = p
    out[#out + 1] = tonumber(string.match(v, '|(%d+)$'))
  end
end
local first = tonumber(ARGV[3])
for i = 0, parts - 1 do
  if mine >= fair then break end
  local p = (first + i) % parts
  local k = KEYS[4 + p]
  if not released[p] and redis.call('EXISTS', k) == 0 then
    local token = redis.call('INCR', KEYS[2])
    redis.call('SET', k, me .. '|' .. token, 'PX', lease)
    mine = mine + 1
    out[#out + 1] = p
    out[#out + 1] = token
  end
end
redis.call('HSET', KEYS[3], 'pid', ARGV[5], 'at', now, 'partitions', mine, 'live', live)
redis.call('PEXPIRE', KEYS[3], lease)
return out
)lua";

}  // namespace botfn::storage::redis::scripts
