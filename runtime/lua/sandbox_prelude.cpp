// The trusted sandbox prelude (Lua source). It runs once per VM with the real globals, seals the
// real string table, installs the C-nesting guards and builds SAFE (LUA_SANDBOX.md §4).
// Run by sandbox.cpp; the functions it returns are kept in the registry by Vm.
#include "lua/sandbox_prelude.hpp"

namespace botfn::lua {

namespace {

// Arguments: real globals, enter(), leave(ok, ...), host_print(line), seed, print_max,
// capture_traceback(err).
// Returns: make_env(layer), publish(layer, name, value), host_threads (weak set), run(fn, ...),
// freeze(value, what), seal_env(env).
constexpr std::string_view kPrelude = R"lua(
local G, enter, leave, host_print, seed, print_max, capture_traceback = ...

local type, error, select, ipairs, next = G.type, G.error, G.select, G.ipairs, G.next
local rawset, setmetatable, getmetatable = G.rawset, G.setmetatable, G.getmetatable
local pcall, setfenv, tostring = G.pcall, G.setfenv, G.tostring
local string, table, math, bit, os, coroutine = G.string, G.table, G.math, G.bit, G.os, G.coroutine
local concat, byte, sub = table.concat, string.byte, string.sub

-- C functions that call back into Lua recurse on the C stack, which LuaJIT never bounds
-- (gsub callback recursion is a SIGSEGV). enter() counts the nesting in the host; the pcall
-- keeps the count exact when the callee errors, and leave() rethrows the error unchanged.
local function guard(f)
  return function(...)
    if not enter() then error("sandbox: C stack nesting too deep", 2) end
    return leave(pcall(f, ...))
  end
end

-- The real string table is what ("").x reaches, so it is hardened in place, not only in SAFE.
-- string.gsub is botfn's own (pattern_lib.cpp) and guards its callbacks itself.
string.dump = nil
string.format = guard(string.format)
getmetatable("").__metatable = false
-- Unreachable from scripts once the globals are replaced; removed anyway as a second wall.
for _, name in ipairs({"execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale"}) do
  os[name] = nil
end
math.randomseed(seed)

local readonly_set = setmetatable({}, {__mode = "k"})
-- Read-only table -> the table holding its fields, so pairs/next and the host can list them.
local backing_of = setmetatable({}, {__mode = "k"})

local function readonly(backing, name)
  local proxy = setmetatable({}, {
    __index = backing,
    __newindex = function() error("attempt to modify read-only table '" .. name .. "'", 2) end,
    __metatable = false,
    __frozen = backing,
  })
  readonly_set[proxy] = true
  backing_of[proxy] = backing
  return proxy
end

-- Deep copy into read-only proxies, so host tables and their nested tables stay immutable.
local function freeze(value, name, seen)
  if type(value) ~= "table" or readonly_set[value] then return value end
  seen = seen or {}
  if seen[value] then return seen[value] end
  local backing = {}
  local proxy = readonly(backing, name)
  seen[value] = proxy
  for k, v in next, value do
    backing[k] = freeze(v, name .. "." .. tostring(k), seen)
  end
  return proxy
end

local function copy_of(t, skip)
  local c = {}
  for k, v in next, t do
    if not (skip and skip[k]) then c[k] = v end
  end
  return c
end

-- Raw writers would defeat the proxies (rawset(string, "upper", evil)), so they refuse them.
local function safe_rawset(t, k, v)
  if readonly_set[t] then error("rawset: table is read-only", 2) end
  return rawset(t, k, v)
end

local function refuse_readonly(what, f)
  return function(t, ...)
    if readonly_set[t] then error(what .. ": table is read-only", 2) end
    return f(t, ...)
  end
end

local table_move = table.move
local function safe_move(a1, f, e, t, a2)
  if readonly_set[a2 or a1] then error("table.move: table is read-only", 2) end
  return table_move(a1, f, e, t, a2)
end

local safe_tostring = guard(tostring)

local function safe_print(...)
  local n = select("#", ...)
  local args = {...}
  local parts, size = {}, 0
  for i = 1, n do
    local s = safe_tostring(args[i])
    if #s > print_max then s = sub(s, 1, print_max) end
    parts[i] = s
    size = size + #s + 1
    if size > print_max then break end
  end
  host_print(concat(parts, "\t"))
end

local SAFE = {}
local layers = {}
local env_meta_of = setmetatable({}, {__mode = "k"})

local function layer_of(layer_name)
  if layer_name == nil or layer_name == "" then return SAFE end
  local layer = layers[layer_name]
  if not layer then
    layer = setmetatable({}, {__index = SAFE, __metatable = false})
    layers[layer_name] = layer
  end
  return layer
end

-- Env tables index SAFE (or a layer) directly; their metatable is hidden, so the backing
-- tables are unreachable. Each env has its own metatable so seal_env can change it in place.
local function make_env(layer_name)
  local meta = {__index = layer_of(layer_name), __metatable = false}
  local env = setmetatable({}, meta)
  env_meta_of[env] = meta
  env._G = env
  return env
end

local guarded_load = guard(G.load)

-- Text only, never bytecode (LuaJIT does not verify it), and never the host's globals.
-- A reader function is drained here in Lua, so the parser never calls back into Lua.
local function safe_load(chunk, chunkname, mode, env)
  if type(chunk) == "function" then
    local parts, n = {}, 0
    while true do
      local piece = chunk()
      if piece == nil or piece == "" then break end
      if type(piece) ~= "string" then return nil, "reader function must return a string" end
      n = n + 1
      parts[n] = piece
    end
    chunk = concat(parts)
  elseif type(chunk) ~= "string" then
    error("bad argument #1 to 'load' (string expected, got " .. type(chunk) .. ")", 2)
  end
  if chunkname ~= nil and type(chunkname) ~= "string" then
    error("bad argument #2 to 'load' (string expected, got " .. type(chunkname) .. ")", 2)
  end
  if byte(chunk, 1) == 27 then return nil, "attempt to load a binary chunk" end
  local fn, err = guarded_load(chunk, chunkname or "=(load)", "t")
  if not fn then return nil, err end
  if type(env) ~= "table" then env = make_env() end
  setfenv(fn, env)
  return fn
end

local host_threads = setmetatable({}, {__mode = "k"})
local guarded_resume = guard(coroutine.resume)
local co_wrap = coroutine.wrap

-- A handler's coroutine is resumed only by the host: a script that got hold of another
-- request's suspended coroutine must not feed it forged results.
local function safe_resume(co, ...)
  if host_threads[co] then
    error("coroutine.resume: cannot resume a coroutine run by the host", 2)
  end
  return guarded_resume(co, ...)
end

local function safe_wrap(f)
  return guard(co_wrap(f))
end

for _, name in ipairs({"assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select",
                       "tonumber", "type", "unpack", "rawequal", "rawget", "getmetatable",
                       "setmetatable", "_VERSION"}) do
  SAFE[name] = G[name]
end
SAFE.rawlen = function(v)
  local t = type(v)
  if t ~= "table" and t ~= "string" then
    error("bad argument #1 to 'rawlen' (table or string expected, got " .. t .. ")", 2)
  end
  return #v
end
SAFE.rawset = safe_rawset
SAFE.tostring = safe_tostring
SAFE.print = safe_print
SAFE.load = safe_load

SAFE.string = readonly(copy_of(string), "string")

local safe_table = copy_of(table)
safe_table.sort = refuse_readonly("table.sort", guard(table.sort))
safe_table.insert = refuse_readonly("table.insert", table.insert)
safe_table.remove = refuse_readonly("table.remove", table.remove)
safe_table.move = safe_move
SAFE.table = readonly(safe_table, "table")

-- randomseed stays host-only: the generator is shared by every script in the VM.
SAFE.math = readonly(copy_of(math, {randomseed = true}), "math")
SAFE.bit = readonly(copy_of(bit), "bit")
-- os.time(t) reads t's fields through __index from C, so it is guarded too.
SAFE.os = readonly({time = guard(os.time), date = os.date, clock = os.clock,
                    difftime = os.difftime}, "os")

local safe_coroutine = copy_of(coroutine)
safe_coroutine.resume = safe_resume
safe_coroutine.wrap = safe_wrap
SAFE.coroutine = readonly(safe_coroutine, "coroutine")

local function publish(layer_name, name, value)
  rawset(layer_of(layer_name), name, freeze(value, name))
end

-- Isolation between updates (LUA_SANDBOX.md section 4.2): once an app has loaded, the tables it
-- built (module values, load-time globals and everything reachable from them through fields)
-- are frozen in place, and every file's globals are sealed, so no update can leave data there
-- for the next chat. Fields move to a backing table read through __index; array items 1..n and
-- "__" keys stay in place so #t, ipairs, unpack and the host's raw reads keep working and a
-- class table still serves as its instances' metatable. Upvalues are not reached.
local operator_events = {"__call", "__tostring", "__eq", "__lt", "__le", "__concat", "__unm",
                         "__add", "__sub", "__mul", "__div", "__mod", "__pow"}

local function refuse_write(prefix, hint)
  return function(_, k)
    local key = (type(k) == "string" or type(k) == "number") and k or type(k)
    error(prefix .. "'" .. key .. "'" .. hint, 2)
  end
end

local refuse_global = refuse_write("attempt to set global ", " (globals are read-only after the "
  .. "app has loaded: use a local, or ctx.data and db for what must outlive the update)")

local function stays_in_place(k, n)
  local tk = type(k)
  if tk == "number" then return k >= 1 and k <= n and k % 1 == 0 end
  return tk == "string" and sub(k, 1, 2) == "__"
end

-- Moves t's fields (all of them, or those not staying in place) to a backing table.
local function move_fields(t, n, all)
  local backing = {}
  for k, v in next, t do
    if all or not stays_in_place(k, n) then backing[k] = v end
  end
  for k in next, backing do rawset(t, k, nil) end
  return backing
end

local freeze_in_place

-- A file's globals: readable as before, any assignment refused, from every update.
local function seal_env(env)
  local meta = env_meta_of[env]
  if not meta or readonly_set[env] then return end
  local globals = move_fields(env, 0, true)
  -- One table holds the globals and the sandbox names they shadow, so reading a global costs
  -- one __index hop, as before sealing; names published later still resolve through the layer.
  local layer = meta.__index
  local lookup = setmetatable({}, {__index = layer})
  if layer ~= SAFE then
    for k, v in next, SAFE do lookup[k] = v end
  end
  for k, v in next, layer do rawset(lookup, k, v) end
  for k, v in next, globals do rawset(lookup, k, v) end
  meta.__index = lookup
  meta.__newindex = refuse_global
  meta.__frozen = globals
  readonly_set[env] = true
  backing_of[env] = globals
  local seen = {}
  for k, v in next, globals do
    freeze_in_place(v, "global '" .. (type(k) == "string" and k or type(k)) .. "'", seen)
  end
end

freeze_in_place = function(t, what, seen)
  if type(t) ~= "table" or readonly_set[t] or seen[t] then return end
  seen[t] = true
  if env_meta_of[t] then return seal_env(t) end
  local mt = getmetatable(t)
  if mt ~= nil and not pcall(setmetatable, t, nil) then
    error("cannot freeze " .. what .. ": one of its tables has a protected metatable", 0)
  end
  local n = #t  -- raw: LuaJIT tables ignore __len
  local backing = move_fields(t, n, false)
  local lookup = backing
  if mt then
    -- An object's class methods are copied beside its fields, so a method call costs one
    -- __index hop, as before freezing; anything else still resolves through the metatable.
    local class = rawget(mt, "__index")
    if type(class) == "table" then
      lookup = setmetatable({}, mt)
      for k, v in SAFE.pairs(class) do rawset(lookup, k, v) end
      for k, v in next, backing do rawset(lookup, k, v) end
    end
  end
  local meta = {__index = lookup, __newindex = refuse_write("attempt to modify " .. what
    .. " (read-only): field ", " (tables an app built while loading are read-only afterwards: "
    .. "keep per-chat state in ctx.data or db)"),
    __metatable = false, __frozen = backing}
  if mt then
    if lookup == backing then setmetatable(backing, mt) end
    for _, event in ipairs(operator_events) do meta[event] = rawget(mt, event) end
  end
  setmetatable(t, meta)
  readonly_set[t] = true
  backing_of[t] = backing
  for _, v in next, backing do freeze_in_place(v, what, seen) end
  for _, v in next, t do freeze_in_place(v, what, seen) end
end

local function freeze_value(value, what)
  freeze_in_place(value, what, {})
  return value
end

-- pairs/next over a read-only table list its own fields, then its backing's.
local function frozen_next(t, k)
  local backing = backing_of[t]
  if k == nil or rawget(t, k) ~= nil then
    local nk, nv = next(t, k)
    if nk ~= nil then return nk, nv end
    return next(backing)
  end
  return next(backing, k)
end

SAFE.next = function(t, k)
  if backing_of[t] then return frozen_next(t, k) end
  return next(t, k)
end
local pairs = G.pairs
SAFE.pairs = function(t)
  if backing_of[t] then return frozen_next, t, nil end
  return pairs(t)
end

-- Every host coroutine starts here. Once lua_resume has returned an error, the top frame's
-- line is gone, so the handler records the traceback while the frames still exist.
local xpcall = G.xpcall
local function run(fn, ...)
  return xpcall(fn, capture_traceback, ...)
end

return make_env, publish, host_threads, run, freeze_value, seal_env
)lua";

}  // namespace

std::string_view sandboxPreludeSource() noexcept { return kPrelude; }

}  // namespace botfn::lua
