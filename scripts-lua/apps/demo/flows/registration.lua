-- Registration: the Wappi API token, then the profile id, then the user is stored and sees the menu.
local bot = require("bot")
local menu = require("menu")

local function trim(s)
  return (string.gsub(s or "", "^%s*(.-)%s*$", "%1"))
end

return bot.flow("registration", {
  token = {
    enter = function(ctx)
      ctx:reply(t("ask_token"))
    end,
    text = function(ctx, text)
      local token = trim(text)
      if #token < 8 or #token > 128 or token:find("%s") then
        return ctx:reply(t("bad_token"))
      end
      ctx.data.api_token = token
      return ctx:go("registration.profile")
    end,
  },
  profile = {
    enter = function(ctx)
      ctx:reply(t("ask_profile"))
    end,
    text = function(ctx, text)
      local profile = trim(text)
      if not profile:match("^[%w_%-]+$") or #profile > 64 then
        return ctx:reply(t("bad_profile"))
      end
      db.exec([[INSERT INTO users (user_id, api_token, profile_id, registered_at)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (user_id) DO UPDATE SET api_token = excluded.api_token,
                  profile_id = excluded.profile_id]],
        ctx.user_id, ctx.data.api_token, profile, os.time())
      ctx.data.api_token = nil
      ctx:leave()
      ctx:reply(t("registered", { profile = profile }))
      return menu.show(ctx)
    end,
  },
})
