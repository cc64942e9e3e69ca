// The trusted prelude's Lua source (sandbox_prelude.cpp). Used only by sandbox.cpp.
#pragma once

#include <string_view>

namespace botfn::lua {

std::string_view sandboxPreludeSource() noexcept;

}  // namespace botfn::lua
