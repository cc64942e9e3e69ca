// The ctx object handed to every handler: fields of the update built on first access (and
// cached), and the effect-recording methods. Marked dead when its run ends.
#pragma once

struct lua_State;

namespace botfn::lua {

struct RunState;

// Pushes a new ctx userdata bound to run. Returns an opaque box the executor kills at the end.
void* pushCtx(lua_State* L, RunState* run);
// After this, any use of that ctx raises "ctx is used after its update finished".
void killCtx(void* box);
// Registers the ctx metatable in the VM (called once per VM by modules.cpp).
void installCtxType(lua_State* L);

}  // namespace botfn::lua
