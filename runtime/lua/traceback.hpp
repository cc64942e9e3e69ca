// Traceback capture for failed runs: the error handler of every host coroutine (the prelude's
// run()) records the traceback while the failing frames still exist. Implemented in
// traceback.cpp; installed by sandbox.cpp, read by coroutine_runner.cpp.
#pragma once

struct lua_State;

namespace botfn::lua {

// xpcall handler: stores the traceback in VmContext::traceback, returns the error unchanged.
int luaCaptureTraceback(lua_State* L);

}  // namespace botfn::lua
