// Internal helper shared by the parse_mode parsers (text_format.cpp, text_format_html.cpp):
// collects plain output text and MessageEntity objects with UTF-16 offsets.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "text_format.hpp"
#include "text_utils.hpp"

namespace botfn::fake_telegram::detail {

struct OpenEntity {
  std::string type;
  std::string token;  // delimiter that closes it (Markdown) or tag name (HTML)
  size_t start = 0;   // byte offset in the output
  size_t sourceOffset = 0;
  Json extra = Json::object();
};

struct Builder {
  std::string out;
  std::vector<Json> entities;
  void add(const OpenEntity& e, size_t end) {
    if (end <= e.start) return;
    Json j = Json::object();
    j["offset"] = utf16Length(std::string_view(out).substr(0, e.start));
    j["length"] = utf16Length(std::string_view(out).substr(e.start, end - e.start));
    j["type"] = e.type;
    for (auto& [k, v] : e.extra.items()) j[k] = v;
    entities.push_back(std::move(j));
  }
  void finish(FormattedText& result) {
    std::stable_sort(entities.begin(), entities.end(), [](const Json& a, const Json& b) {
      if (a["offset"] != b["offset"]) return a["offset"].get<size_t>() < b["offset"].get<size_t>();
      return a["length"].get<size_t>() > b["length"].get<size_t>();
    });
    result.text = std::move(out);
    result.entities = Json(entities);
  }
};

inline std::string fail(const std::string& what) {
  return "Bad Request: can't parse entities: " + what;
}

}  // namespace botfn::fake_telegram::detail
