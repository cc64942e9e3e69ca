local bot = require("bot")
local app = bot.app()
app:command("start", function(ctx)
  ctx:reply("hi"
end)
return app
