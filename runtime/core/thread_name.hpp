// Names the calling thread (as `top -H`, `perf` and gdb show it); Linux keeps 15 characters.
#pragma once

#include <string_view>

namespace botfn {
void nameThisThread(std::string_view name);
}  // namespace botfn
