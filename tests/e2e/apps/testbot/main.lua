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

-- Isolation between chats: both writes are refused, so /recall in any chat reads nil.
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
