// installSandbox(): opens the allowed libraries, runs the trusted prelude and empties the
// thread's globals. Uses sandbox_prelude.cpp and c_nesting.cpp; called once by Vm::create().
#pragma once

#include <cstddef>
#include <string>
#include <tl/expected.hpp>

struct lua_State;

namespace botfn::lua {

// Registry refs of what the prelude returned.
struct SandboxRefs {
  int makeEnv = -2;
  int publish = -2;
  int hostThreads = -2;
  int runner = -2;
  int freeze = -2;   // freeze(value, what): module tables read-only in place
  int sealEnv = -2;  // seal_env(env): a file's globals read-only
};

tl::expected<SandboxRefs, std::string> installSandbox(lua_State* L, std::size_t printMaxBytes);

}  // namespace botfn::lua
