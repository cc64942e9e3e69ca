// Raw-byte depth scan and guarded parse for untrusted JSON.
#include "core/json_guard.hpp"

namespace botfn {

int jsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

Result<nlohmann::json> parseJsonGuarded(std::string_view text, int max_depth) {
  if (jsonDepth(text, max_depth) > max_depth) {
    return fail(ErrorCode::TooDeep);
  }
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return fail(ErrorCode::BadJson);
  return parsed;
}

}  // namespace botfn
