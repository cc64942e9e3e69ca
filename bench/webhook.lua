-- wrk script: POSTs ~600-byte Telegram updates with unique update_ids over 1000 chats, with the
-- webhook secret header. Each wrk thread gets its own id range. Used by bench/run.sh and
-- bench/backends.sh.
-- BENCH_TARGETS="host:port,host:port" spreads the threads round-robin over several servers
-- (bench/backends.sh --instances N); unset, every thread uses the URL's.
local threads = {}
local counter = 0
local targets = {}
for t in string.gmatch(os.getenv("BENCH_TARGETS") or "", "[^,]+") do table.insert(targets, t) end

function setup(thread)
  thread:set("base", #threads * 100000000 + 1)
  if #targets > 0 then
    local host, port = string.match(targets[#threads % #targets + 1], "^(.-):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
  table.insert(threads, thread)
end

function init(args)
  counter = base
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = os.getenv("BENCH_SECRET") or "bench_secret"
end

local padding = string.rep("x", 300)

function request()
  counter = counter + 1
  local chat = 100000 + counter % 1000
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"chat":{"id":%d,"type":"private","first_name":"Bench"},' ..
    '"from":{"id":%d,"is_bot":false,"first_name":"Bench","language_code":"en"},"text":"bench %s"}}',
    counter, counter, chat, chat, padding)
  return wrk.format(nil, nil, nil, body)
end
