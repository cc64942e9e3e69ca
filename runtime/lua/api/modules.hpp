// The one list of native modules scripts can see (modules.cpp) and the functions each api file
// provides to it.
#pragma once

struct lua_State;
struct luaL_Reg;
typedef int (*lua_CFunction)(lua_State*);

namespace botfn::lua {

class Vm;

const luaL_Reg* dbFunctions();
const luaL_Reg* httpFunctions();
const luaL_Reg* logFunctions();
lua_CFunction translateFunction();

// Publishes every module into vm (db, http, log, t) and registers the ctx type.
void installModules(Vm& vm);

}  // namespace botfn::lua
