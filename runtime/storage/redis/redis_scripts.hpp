// The server-side Lua scripts of RedisBus: each runs atomically on the server, so a push (dedupe
// keys + XADD + poll cursor) or an ack (XACK + XDEL + the dedupe key's expiry) is one round trip
// and never half applied. Called with EVALSHA, falling back to EVAL (redis_bus.cpp).
#pragma once

namespace botfn::storage::redis::scripts {

// KEYS: stream, seq, poll hash, then one dedupe key per item.
// ARGV: cursor bot ('' for none), cursor offset, then bot, update_id, lane, kind, body per item.
// Returns per item the entry id (the stream id is "<id>-0"), or 0 for a Duplicate.
// The dedupe key holds the receipt time (unix s) and has no TTL while its entry is queued: the ack
// sets the rest of the window, so a repeat of a queued update stays a Duplicate however long it
// waits. seq starts at the server's clock in microseconds, so ids handed out after Redis lost its
// data are still above every id an instance may hold from before.
inline constexpr const char* kPush = R"lua(
local t = redis.call('TIME')
redis.call('SET', KEYS[2], t[1] .. string.sub('000000' .. t[2], -6), 'NX')
local out = {}
for i = 1, #KEYS - 3 do
  local a = 2 + (i - 1) * 5
  if redis.call('SET', KEYS[3 + i], t[1], 'NX') then
    local id = redis.call('INCR', KEYS[2])
    redis.call('XADD', KEYS[1], string.format('%.0f', id) .. '-0', 'b', ARGV[a + 1],
               'u', ARGV[a + 2], 'l', ARGV[a + 3], 'k', ARGV[a + 4], 'd', ARGV[a + 5])
    out[i] = id
  else
    out[i] = 0
  end
end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[2]) end
return out
)lua";

// KEYS: stream, then the dedupe key of each entry. ARGV: group, window_s, then the stream ids.
// XDEL keeps the stream as long as the unacked work, so XLEN is the queue depth.
inline constexpr const char* kAck = R"lua(
local now = tonumber(redis.call('TIME')[1])
local window = tonumber(ARGV[2])
for i = 3, #ARGV do
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  redis.call('XDEL', KEYS[1], ARGV[i])
  local key = KEYS[i - 1]
  local at = tonumber(redis.call('GET', key) or '')
  if at and redis.call('TTL', key) == -1 then
    local left = at + window - now
    if left > 0 then redis.call('EXPIRE', key, left) else redis.call('DEL', key) end
  end
end
return #ARGV - 2
)lua";

// KEYS: stream. ARGV: group, consumer, then ids this consumer holds. Resets the idle time of
// those still pending for this consumer (XAUTOCLAIM elsewhere reclaims only idle ones); one that
// another consumer has reclaimed meanwhile stays with it. Returns how many were still ours.
inline constexpr const char* kRenew = R"lua(
local kept = 0
for i = 3, #ARGV do
  if redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])[1] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept = kept + 1
  end
end
return kept
)lua";

}  // namespace botfn::storage::redis::scripts
