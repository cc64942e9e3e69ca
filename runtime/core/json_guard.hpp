// Parsing of untrusted JSON bodies: rejects nesting deeper than a limit by scanning the raw bytes
// before nlohmann parses them (its recursive dump() crashes on 100k-deep arrays).
// Used by functions/webhook and the long-polling loop.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/error.hpp"

namespace botfn {

inline constexpr int kMaxJsonDepth = 64;

// Depth of the deepest array/object in text, ignoring brackets inside strings. Stops early past limit.
int jsonDepth(std::string_view text, int limit = kMaxJsonDepth);
// Parses text into json; BadJson or TooDeep on failure.
Result<nlohmann::json> parseJsonGuarded(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace botfn
