-- The end-to-end test app: echo for ordering, a failing command, a slow outbound call, state.
local bot = require("bot")
local app = bot.app({ http_hosts = { "127.0.0.1" } })

app:command("boom", function(ctx)
  local t = nil
  return t.field  -- attempt to index a nil value: a runtime error with file:line
end)

app:command("slow", function(ctx, url)
  local res, err = http.request({ url = url, timeout = 20 })
  if not res then return ctx:reply("http failed: " .. err) end
  ctx:reply("slow done " .. res.status .. " " .. res.body)
end)

app:command("refused", function(ctx)
  local res, err = http.request({ url = "http://example.com/" })
  ctx:reply(tostring(res) .. " | " .. tostring(err))
end)

app:command("count", function(ctx)
  ctx.data.n = (ctx.data.n or 0) + 1
  ctx:reply("count " .. ctx.data.n)
end)

app:command("vars", function(ctx)
  ctx:reply("support " .. tostring(ctx.bot.vars.support))
end)

app:command("spin", function(ctx)
  while true do end
end)

-- App SQL that would hurt the runtime (issue 7): unbounded recursive CTEs, in a read on the
-- worker and in a write run by the commit on the storage writer, and botfn's own tables.
local runaway = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "

app:command("sqlspin", function(ctx)
  local rows = db.query(runaway .. "SELECT count(*) AS n FROM r")
  ctx:reply("never " .. rows[1].n)
end)

app:command("sqlspinw", function(ctx)
  db.exec("CREATE TABLE IF NOT EXISTS spin (n INTEGER)")
  db.exec(runaway .. "INSERT INTO spin (n) SELECT n FROM r")
  ctx:reply("never")
end)

app:command("peek", function(ctx)
  local rows = db.query("SELECT count(*) AS n FROM outbox")
  ctx:reply("outbox " .. rows[1].n)
end)

app:command("poke", function(ctx)
  db.exec("DELETE FROM outbox")
  ctx:reply("poked")
end)

-- A pattern that backtracks for seconds with a naive matcher (issue 7 item 10).
app:command("patbomb", function(ctx)
  local subject = ("a"):rep(3000)
  ctx:reply("patbomb " .. tostring(subject:find("a-a-a-b")))
end)

-- Isolation between chats: both writes are refused, so /recall in any chat reads nil.
-- luacheck: globals last_secret
local notes = require("notes")
app:command("remember", function(ctx, args)
  last_secret = args
  notes.secret = args
  ctx:reply("remembered")
end)

app:command("recall", function(ctx)
  ctx:reply("recall " .. tostring(last_secret) .. " " .. tostring(notes.secret))
end)

app:on("text", function(ctx)
  if #ctx.text > 1000 then return ctx:reply("echo long " .. #ctx.text) end
  ctx:reply("echo " .. ctx.text)
end)

return app
