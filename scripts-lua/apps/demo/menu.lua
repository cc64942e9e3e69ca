-- The main menu: one message whose inline buttons edit it in place.
local M = {}

local function keyboard()
  return {
    { { text = t("btn_mailing"), data = "menu:mailing" }, { text = t("btn_start"), data = "menu:start" } },
    { { text = t("btn_subscription"), data = "menu:subscription" } },
  }
end

function M.show(ctx)
  ctx.data.menu = ctx:reply(t("menu_title"), { buttons = keyboard() })
end

local sections = { mailing = true, start = true, subscription = true }

function M.on_button(ctx, which)
  if which == "back" then
    return ctx:edit(nil, t("menu_title"), { buttons = keyboard() })
  end
  if not sections[which] then
    return ctx:answer(t("button_expired"))
  end
  ctx:edit(nil, t("section_" .. which), { buttons = { { { text = t("btn_back"), data = "menu:back" } } } })
end

return M
