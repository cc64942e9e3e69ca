-- bot: the app builder used by every app's main.lua. Routes commands, button presses (Lua
-- patterns over callback data), message kinds and flow states; runs middlewares; returns the app
-- table the runtime calls (app:handle(ctx) per update, app:enter_state for ctx:go).
local M = {}

local App = {}
App.__index = App

-- bot.app{default_lang = "en", http_hosts = {"api.example.com"}} -> app
function M.app(opts)
  opts = opts or {}
  return setmetatable({
    commands = {},
    callbacks = {},
    kinds = {},
    flows = {},
    middlewares = {},
    fallback_fn = nil,
    http_hosts = opts.http_hosts or {},
    default_lang = opts.default_lang or "en",
  }, App)
end

-- bot.flow("registration", {token = {enter = fn, text = fn, callback = fn, photo = fn}, ...})
function M.flow(name, states)
  assert(type(name) == "string" and not name:find("%."), "bot.flow: name must be a string without dots")
  assert(type(states) == "table", "bot.flow: states must be a table")
  return { name = name, states = states }
end

function App:command(name, fn)
  assert(type(fn) == "function", "app:command: handler must be a function")
  self.commands[string.lower(name)] = fn
  return self
end

function App:callback(pattern, fn)
  assert(type(fn) == "function", "app:callback: handler must be a function")
  self.callbacks[#self.callbacks + 1] = { pattern = pattern, fn = fn }
  return self
end

-- kind: a message kind ("text", "photo", "document", ...) or an update kind ("my_chat_member")
function App:on(kind, fn)
  assert(type(fn) == "function", "app:on: handler must be a function")
  self.kinds[kind] = fn
  return self
end

function App:flow(flow)
  self.flows[flow.name] = flow
  return self
end

-- mw(ctx, next): call next() to go on, or return without calling it to stop the update here
function App:use(mw)
  self.middlewares[#self.middlewares + 1] = mw
  return self
end

function App:fallback(fn)
  self.fallback_fn = fn
  return self
end

local function split_state(state)
  return string.match(state, "^([^%.]+)%.(.+)$")
end

local function state_of(app, state)
  local flow_name, name = split_state(state)
  local flow = flow_name and app.flows[flow_name]
  return flow and flow.states[name], flow_name, name
end

-- Called by ctx:go(state, ...) after the state is recorded.
function App:enter_state(ctx, state, ...)
  local st, flow_name, name = state_of(self, state)
  if not st then
    error("ctx:go: unknown state '" .. tostring(state) .. "' (expected 'flow.state'; flow '"
      .. tostring(flow_name) .. "', state '" .. tostring(name) .. "')", 3)
  end
  if st.enter then return st.enter(ctx, ...) end
end

local function in_flow(app, ctx)
  local state = ctx.state
  if state == "" then return false end
  local st = state_of(app, state)
  if not st then return false end
  local handler, arg
  if ctx.kind == "callback_query" then
    handler, arg = st.callback, ctx.callback_data
  elseif ctx.message_kind == "text" then
    handler, arg = st.text, ctx.text
  elseif ctx.message_kind then
    handler, arg = st[ctx.message_kind] or st.message, ctx.text
  end
  if not handler then return false end
  handler(ctx, arg)
  return true
end

function App:route(ctx)
  if ctx.for_other_bot then return false end
  local command = ctx.command
  if command and self.commands[command] then
    self.commands[command](ctx, ctx.args)
    return true
  end
  if in_flow(self, ctx) then return true end
  if ctx.kind == "callback_query" then
    local data = ctx.callback_data or ""
    for _, cb in ipairs(self.callbacks) do
      local captures = { string.match(data, cb.pattern) }
      if captures[1] ~= nil then
        cb.fn(ctx, unpack(captures))
        return true
      end
    end
  end
  local kinds, kind = self.kinds, ctx.kind
  local message_kind = ctx.message_kind
  local by_kind = (message_kind and kinds[message_kind]) or kinds[kind]
  if by_kind then
    by_kind(ctx)
    return true
  end
  local fallback = self.fallback_fn
  if fallback and (kind == "message" or kind == "callback_query") then
    fallback(ctx)
    return true
  end
  return false
end

-- The runtime calls this once per update; true means some handler took it.
function App:handle(ctx)
  local middlewares = self.middlewares
  if middlewares[1] == nil then return self:route(ctx) end  -- no closure per update
  local i, handled = 0, false
  local function next_step()
    i = i + 1
    local mw = middlewares[i]
    if mw then return mw(ctx, next_step) end
    handled = self:route(ctx)
    return handled
  end
  next_step()
  return handled
end

return M
