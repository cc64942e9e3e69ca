// Bot API parameter parsing: merges the query string with a form, multipart or JSON body into one
// JSON object, plus typed getters that accept both JSON values and strings. Used by bot_api and
// control_api.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace botfn::fake_telegram {

// Insertion-ordered JSON so answers keep Telegram's field order.
using Json = nlohmann::ordered_json;

struct ParsedParams {
  Json params = Json::object();
  std::string error;  // non-empty when the body could not be parsed
};

// rawQuery is the part after '?' (may be empty). Fields that Telegram documents as JSON-serialized
// (reply_markup, entities, allowed_updates, ...) are parsed into JSON when given as strings.
ParsedParams parseRequestParams(std::string_view rawQuery, std::string_view contentType,
                                std::string_view body);

// nullptr when absent or JSON null.
const Json* paramValue(const Json& params, const std::string& key);
// Accepts a JSON integer or a string holding one.
std::optional<int64_t> paramInt(const Json& params, const std::string& key);
// Strings as-is; numbers and booleans rendered as JSON text.
std::optional<std::string> paramString(const Json& params, const std::string& key);
// true, "true", "1", 1 → true; everything else → false; absent → fallback.
bool paramBool(const Json& params, const std::string& key, bool fallback = false);

}  // namespace botfn::fake_telegram
