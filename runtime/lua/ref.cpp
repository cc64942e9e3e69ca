// Ref: registry anchoring for values the host keeps across calls. Uses the Vm's registry;
// created by Vm, Loader and Coroutine.
#include "lua/ref.hpp"

#include <lua.hpp>

#include <utility>

#include "lua/vm.hpp"

namespace botfn::lua {

Ref::Ref(Vm& vm, lua_State* L) : vm_(&vm), ref_(luaL_ref(L, LUA_REGISTRYINDEX)) { ++vm.liveRefs_; }

Ref::Ref(Ref&& other) noexcept
    : vm_(std::exchange(other.vm_, nullptr)), ref_(std::exchange(other.ref_, LUA_NOREF)) {}

Ref& Ref::operator=(Ref&& other) noexcept {
  if (this != &other) {
    release();
    vm_ = std::exchange(other.vm_, nullptr);
    ref_ = std::exchange(other.ref_, LUA_NOREF);
  }
  return *this;
}

Ref::~Ref() { release(); }

void Ref::release() noexcept {
  if (vm_ == nullptr) return;
  luaL_unref(vm_->state(), LUA_REGISTRYINDEX, ref_);
  --vm_->liveRefs_;
  vm_ = nullptr;
  ref_ = LUA_NOREF;
}

void Ref::push(lua_State* L) const {
  if (vm_ == nullptr) {
    lua_pushnil(L);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref_);
}

}  // namespace botfn::lua
