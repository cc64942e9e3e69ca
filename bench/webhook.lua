-- wrk script: POSTs ~600-byte Telegram updates with unique update_ids over 1000 chats, with the
-- webhook secret header. Each wrk thread gets its own id range.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("base", #threads * 100000000 + 1)
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
