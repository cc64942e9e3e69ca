// An update's JSON as a simdjson document, parsed once on the worker and read by everything that
// runs the update: the Update model (parseUpdate) and the Lua ctx, which builds tables straight
// from it. A document owns its memory, so a run suspended in http.request keeps it while the
// worker parses the next update. Replaces an nlohmann DOM: parsing and freeing that tree was the
// worker's largest cost after Lua itself (docs/benchmarks.md).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "core/error.hpp"
#include "core/json_guard.hpp"

namespace simdjson::dom {
class document;
class element;
}  // namespace simdjson::dom

namespace botfn::telegram {

class UpdateDocument {
 public:
  // Any JSON text within max_depth. Integers beyond 64 bits (legal JSON, refused by simdjson)
  // read as doubles, as nlohmann reads them. Errors: TooDeep, BadJson.
  static Result<std::shared_ptr<const UpdateDocument>> parse(std::string_view text,
                                                             int max_depth = kMaxJsonDepth);
  // For tests and tools that hold an nlohmann value.
  static std::shared_ptr<const UpdateDocument> fromJson(const nlohmann::json& value);

  ~UpdateDocument();
  UpdateDocument(const UpdateDocument&) = delete;
  UpdateDocument& operator=(const UpdateDocument&) = delete;

  simdjson::dom::element root() const;

 private:
  UpdateDocument();
  std::unique_ptr<simdjson::dom::document> doc_;
};

// Readers shared by the Update model and the Lua ctx. Duplicate keys: the last wins (as the
// ingress reader reads them); integers above INT64_MAX read as INT64_MAX, so ids never wrap.
std::optional<simdjson::dom::element> fieldOf(simdjson::dom::element object, std::string_view key);
std::optional<int64_t> integerOf(simdjson::dom::element value);

}  // namespace botfn::telegram
