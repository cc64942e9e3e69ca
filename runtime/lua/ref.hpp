// Ref: an owning registry reference to a Lua value (a compiled chunk, an env, a module table).
// Uses only the registry of its Vm. Handed out by Vm, Loader and Coroutine; held by the flow
// workers and the api modules. A Ref must be destroyed before its Vm.
#pragma once

struct lua_State;

namespace botfn::lua {

class Vm;

class Ref {
 public:
  Ref() = default;
  // Pops the value on top of `L` (any thread of `vm`) into the registry.
  Ref(Vm& vm, lua_State* L);
  Ref(Ref&& other) noexcept;
  Ref& operator=(Ref&& other) noexcept;
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  ~Ref();

  explicit operator bool() const noexcept { return vm_ != nullptr; }
  // Pushes the referenced value onto `L`, which must belong to the same Vm.
  void push(lua_State* L) const;
  Vm* vm() const noexcept { return vm_; }

 private:
  void release() noexcept;

  Vm* vm_ = nullptr;
  int ref_ = -2;  // LUA_NOREF
};

}  // namespace botfn::lua
