-- The demo bot: registration (API token -> profile id -> main menu, as in the WhatsApp mailing
-- bot), a main menu whose buttons edit the menu message, /help, and a fallback.
local bot = require("bot")
local menu = require("menu")

local app = bot.app({ default_lang = "en" })

app:flow(require("flows.registration"))

app:command("start", function(ctx)
  local rows = db.query("SELECT profile_id FROM users WHERE user_id = $1", ctx.user_id)
  if #rows > 0 then
    ctx:reply(t("welcome_back", { name = ctx.user.first_name }))
    return menu.show(ctx)
  end
  ctx:reply(t("welcome", { name = ctx.user and ctx.user.first_name or "" }))
  return ctx:go("registration.token")
end)

app:command("help", function(ctx)
  ctx:reply(t("help"))
end)

app:command("menu", function(ctx)
  return menu.show(ctx)
end)

app:callback("^menu:(%a+)$", menu.on_button)

app:fallback(function(ctx)
  if ctx.kind == "callback_query" then
    return ctx:answer(t("button_expired"))
  end
  -- In groups the bot stays quiet about messages that are not for it.
  if ctx.chat and ctx.chat.type == "private" then
    ctx:reply(t("unknown"))
  end
end)

return app
