// Untrusted JSON bodies: nesting deeper than a limit is rejected by scanning the raw bytes before
// any parser builds a document (nlohmann's recursive dump() crashes on 100k-deep arrays).
// Used by the webhook's envelope reader and the worker's UpdateDocument.
#pragma once

#include <string_view>

namespace botfn {

inline constexpr int kMaxJsonDepth = 64;

// Depth of the deepest array/object in text, ignoring brackets inside strings. Stops early past
// limit.
int jsonDepth(std::string_view text, int limit = kMaxJsonDepth);

}  // namespace botfn
