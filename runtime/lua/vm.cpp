// Vm: state creation with the capped allocator (LUA_SANDBOX.md §2.1), JIT off before any code
// loads (§3.6), the sandbox (sandbox.cpp) and the registry-side API (envs, module publishing).
// Uses lua.hpp, luajit.h and spdlog; created by the flow workers and by tests.
#include "lua/vm.hpp"

#include <lua.hpp>
#include <luajit.h>
#include <spdlog/spdlog.h>

#include <cassert>
#include <cstdlib>

#include "lua/sandbox.hpp"

namespace botfn::lua {

namespace {

// Frees and shrinks always succeed; growth fails past the cap only while a script runs, so
// host-side API calls (which are unprotected) never see a NULL from the cap.
void* cappedAlloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* ctx = static_cast<VmContext*>(ud);
  if (ptr == nullptr) osize = 0;
  if (nsize == 0) {
    std::free(ptr);
    ctx->memUsed -= osize;
    return nullptr;
  }
  if (nsize > osize && ctx->capEnforced && ctx->memUsed - osize + nsize > ctx->memLimit) {
    ctx->memRefused = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) {
    if (nsize <= osize)
      p = ptr;  // a failed shrink keeps the larger block
    else
      return nullptr;
  }
  ctx->memUsed = ctx->memUsed - osize + nsize;
  if (ctx->memUsed > ctx->memPeak) ctx->memPeak = ctx->memUsed;
  return p;
}

int panicHandler(lua_State* L) {
  const char* message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
  spdlog::critical("lua: unprotected error in a Lua API call: {}", message);
  std::abort();
}

void defaultPrintSink(void*, std::string_view line) {
  if (auto logger = spdlog::get("lua")) {
    logger->info("print: {}", line);
  } else {
    spdlog::info("lua print: {}", line);
  }
}

int anchorString(lua_State* L, const char* s) {
  lua_pushstring(L, s);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

std::string popMessage(lua_State* L) {
  std::string message = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER
                            ? lua_tostring(L, -1)
                            : "(error object is not a string)";
  lua_pop(L, 1);
  return message;
}

}  // namespace

VmContext& contextOf(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return *static_cast<VmContext*>(ud);
}

Vm::Vm(VmOptions options) : options_(std::move(options)) {
  if (!options_.printSink) options_.printSink = defaultPrintSink;
  ctx_.memLimit = options_.memoryLimit;
  ctx_.maxCDepth = options_.maxCNesting;
  ctx_.userData = options_.userData;
  ctx_.vm = this;
}

tl::expected<std::unique_ptr<Vm>, std::string> Vm::create(VmOptions options) {
  std::unique_ptr<Vm> vm(new Vm(std::move(options)));
  lua_State* L = lua_newstate(cappedAlloc, &vm->ctx_);
  if (L == nullptr) return tl::unexpected(std::string("lua_newstate failed"));
  vm->L_ = L;
  lua_atpanic(L, panicHandler);
  // Count hooks never fire inside JIT traces (§3.1): the JIT is off before any code exists.
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  lua_gc(L, LUA_GCSETPAUSE, 120);

  auto refs = installSandbox(L, vm->options_.printMaxBytes);
  if (!refs) return tl::unexpected(refs.error());
  vm->makeEnvRef_ = refs->makeEnv;
  vm->publishRef_ = refs->publish;
  vm->hostThreadsRef_ = refs->hostThreads;
  vm->runnerRef_ = refs->runner;
  vm->freezeRef_ = refs->freeze;
  vm->sealEnvRef_ = refs->sealEnv;
  vm->ctx_.killMessageRef = anchorString(L, "sandbox: CPU budget exceeded");
  vm->ctx_.interruptMessageRef = anchorString(L, "sandbox: run interrupted");
  vm->ctx_.memoryMessageRef = anchorString(L, "not enough memory");
  lua_gc(L, LUA_GCCOLLECT, 0);
  return vm;
}

Vm::~Vm() {
  while (!attachments_.empty()) attachments_.pop_back();
  // A Ref or Coroutine that outlives its Vm would unref into a closed state.
  assert(liveRefs_ == 0 && "Refs and Coroutines must be destroyed before their Vm");
  if (L_ != nullptr) lua_close(L_);
}

Vm& Vm::of(lua_State* L) { return *contextOf(L).vm; }

void Vm::interrupt() noexcept { ctx_.interrupt.store(true, std::memory_order_relaxed); }

int Vm::pushNewEnv(lua_State* L, std::string_view layer) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, makeEnvRef_);
  if (layer.empty())
    lua_pushnil(L);
  else
    lua_pushlstring(L, layer.data(), layer.size());
  return lua_pcall(L, 1, 1, 0);
}

namespace {

// Freezing copies what a script built, so it runs under the VM's memory cap even when the host
// calls it between runs; only inside lua_pcall, where a refused allocation is an error value.
int pcallCapped(VmContext& ctx, lua_State* L, int nargs, int nresults) {
  const bool enforced = ctx.capEnforced;
  ctx.capEnforced = true;
  const int status = lua_pcall(L, nargs, nresults, 0);
  ctx.capEnforced = enforced;
  return status;
}

}  // namespace

int Vm::freezeTop(lua_State* L, std::string_view what) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, freezeRef_);
  lua_insert(L, -2);  // [freeze, value]
  lua_pushlstring(L, what.data(), what.size());
  const int status = pcallCapped(ctx_, L, 2, 1);
  if (status == 0) lua_pop(L, 1);
  return status;
}

int Vm::sealEnvTop(lua_State* L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, sealEnvRef_);
  lua_insert(L, -2);  // [seal_env, env]
  return pcallCapped(ctx_, L, 1, 0);
}

tl::expected<Ref, std::string> Vm::makeEnv(std::string_view layer) {
  if (pushNewEnv(L_, layer) != 0) return tl::unexpected("makeEnv: " + popMessage(L_));
  return Ref(*this, L_);
}

tl::expected<void, std::string> Vm::publish(std::string_view name, std::string_view layer) {
  // [value]
  lua_rawgeti(L_, LUA_REGISTRYINDEX, publishRef_);
  lua_pushlstring(L_, layer.data(), layer.size());
  lua_pushlstring(L_, name.data(), name.size());
  lua_pushvalue(L_, -4);  // [value, publish, layer, name, value]
  const int status = lua_pcall(L_, 3, 0, 0);
  if (status != 0) {
    std::string message = popMessage(L_);
    lua_pop(L_, 1);
    return tl::unexpected("publish '" + std::string(name) + "': " + message);
  }
  lua_pop(L_, 1);
  return {};
}

tl::expected<void, std::string> Vm::registerModule(std::string_view name, const luaL_Reg* funcs,
                                                   std::string_view layer) {
  lua_newtable(L_);
  for (const luaL_Reg* reg = funcs; reg != nullptr && reg->name != nullptr; ++reg) {
    lua_pushcfunction(L_, reg->func);
    lua_setfield(L_, -2, reg->name);
  }
  return publish(name, layer);
}

tl::expected<void, std::string> Vm::registerValue(std::string_view name, const PushFn& push,
                                                  std::string_view layer) {
  const int top = lua_gettop(L_);
  const int pushed = push(L_);
  if (pushed != 1 || lua_gettop(L_) != top + 1) {
    lua_settop(L_, top);
    return tl::unexpected("registerValue '" + std::string(name) + "': push one value");
  }
  return publish(name, layer);
}

tl::expected<void, std::string> Vm::setEnv(const Ref& fn, const Ref& env) {
  const int top = lua_gettop(L_);
  fn.push(L_);
  env.push(L_);
  const bool ok = lua_type(L_, -1) == LUA_TTABLE && lua_setfenv(L_, -2) != 0;  // pops env
  lua_settop(L_, top);
  if (!ok) return tl::unexpected(std::string("setEnv: expected a function and a table"));
  return {};
}

tl::expected<Ref, std::string> Vm::field(const Ref& table, std::string_view dottedPath) {
  table.push(L_);
  std::string_view rest = dottedPath;
  while (!rest.empty()) {
    const auto dot = rest.find('.');
    const std::string_view key = rest.substr(0, dot);
    if (lua_type(L_, -1) != LUA_TTABLE) {
      lua_pop(L_, 1);
      return tl::unexpected("field '" + std::string(dottedPath) + "': '" + std::string(key) +
                            "' is not inside a table");
    }
    lua_pushlstring(L_, key.data(), key.size());
    lua_rawget(L_, -2);
    lua_remove(L_, -2);
    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  }
  return Ref(*this, L_);
}

}  // namespace botfn::lua
