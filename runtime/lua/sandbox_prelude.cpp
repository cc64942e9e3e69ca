// The trusted sandbox prelude (Lua source). It runs once per VM with the real globals, seals the
// real string table, installs the C-nesting guards and builds SAFE (LUA_SANDBOX.md §4).
// Run by sandbox.cpp; the functions it returns are kept in the registry by Vm.
#include "lua/sandbox_prelude.hpp"

namespace botfn::lua {

namespace {

// Arguments: real globals, enter(), leave(ok, ...), host_print(line), seed, print_max,
// capture_traceback(err).
// Returns: make_env(layer), publish(layer, name, value), host_threads (weak set), run(fn, ...).
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

local function readonly(backing, name)
  local proxy = setmetatable({}, {
    __index = backing,
    __newindex = function() error("attempt to modify read-only table '" .. name .. "'", 2) end,
    __metatable = false,
  })
  readonly_set[proxy] = true
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
local env_metas = {}

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
-- tables are unreachable and one metatable per layer can be shared.
local function make_env(layer_name)
  local key = layer_name or ""
  local meta = env_metas[key]
  if not meta then
    meta = {__index = layer_of(layer_name), __metatable = false}
    env_metas[key] = meta
  end
  local env = setmetatable({}, meta)
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
safe_table.sort = guard(table.sort)
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

-- Every host coroutine starts here. Once lua_resume has returned an error, the top frame's
-- line is gone, so the handler records the traceback while the frames still exist.
local xpcall = G.xpcall
local function run(fn, ...)
  return xpcall(fn, capture_traceback, ...)
end

return make_env, publish, host_threads, run
)lua";

}  // namespace

std::string_view sandboxPreludeSource() noexcept { return kPrelude; }

}  // namespace botfn::lua
