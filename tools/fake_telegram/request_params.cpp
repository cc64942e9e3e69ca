// Implementation of request_params.hpp: query/form/multipart/JSON parameter merging and the
// typed parameter getters.
#include "request_params.hpp"

#include <array>

#include "text_utils.hpp"

namespace botfn::fake_telegram {
namespace {

constexpr std::array<const char*, 10> kJsonFields = {
    "reply_markup",         "entities", "caption_entities", "reply_parameters", "allowed_updates",
    "link_preview_options", "media",    "results",          "commands",         "scope"};

void normalizeJsonFields(Json& params) {
  for (const char* key : kJsonFields) {
    auto it = params.find(key);
    if (it == params.end() || !it->is_string()) continue;
    Json parsed = Json::parse(it->get<std::string>(), nullptr, false);
    if (!parsed.is_discarded() && (parsed.is_object() || parsed.is_array()))
      *it = std::move(parsed);
  }
}

std::string headerParam(std::string_view header, std::string_view name) {
  std::string lower = toLower(header);
  std::string needle = std::string(name) + "=";
  size_t pos = lower.find(needle);
  // Skip matches inside a longer parameter name ("filename=" when looking for "name=").
  while (pos != std::string::npos && pos > 0 && lower[pos - 1] != ' ' && lower[pos - 1] != ';') {
    pos = lower.find(needle, pos + 1);
  }
  if (pos == std::string::npos) return "";
  pos += name.size() + 1;
  if (pos < header.size() && header[pos] == '"') {
    size_t end = header.find('"', pos + 1);
    return std::string(header.substr(pos + 1, end == std::string_view::npos ? end : end - pos - 1));
  }
  size_t end = header.find_first_of("; ", pos);
  return std::string(header.substr(pos, end == std::string_view::npos ? end : end - pos));
}

// Minimal multipart/form-data reader: text fields become strings, file parts become
// {"filename":..., "size":N} objects (the bytes are not kept).
bool parseMultipart(std::string_view body, std::string_view contentType, Json& out) {
  std::string boundary = headerParam(contentType, "boundary");
  if (boundary.empty()) return false;
  std::string delimiter = "--" + boundary;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return false;
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return true;
    if (body.substr(pos, 2) == "\r\n") pos += 2;
    size_t headersEnd = body.find("\r\n\r\n", pos);
    if (headersEnd == std::string_view::npos) return false;
    std::string_view headers = body.substr(pos, headersEnd - pos);
    size_t contentStart = headersEnd + 4;
    size_t next = body.find("\r\n" + delimiter, contentStart);
    if (next == std::string_view::npos) return false;
    std::string_view content = body.substr(contentStart, next - contentStart);
    std::string name = headerParam(headers, "name");
    std::string filename = headerParam(headers, "filename");
    if (!name.empty()) {
      if (filename.empty() && toLower(headers).find("filename=") == std::string::npos) {
        out[name] = std::string(content);
      } else {
        out[name] = Json{{"filename", filename}, {"size", content.size()}};
      }
    }
    pos = next + 2;
  }
}

}  // namespace

ParsedParams parseRequestParams(std::string_view rawQuery, std::string_view contentType,
                                std::string_view body) {
  ParsedParams result;
  for (auto& [key, value] : parseUrlEncoded(rawQuery)) result.params[key] = value;
  std::string type = toLower(contentType);
  bool declaredJson = type.find("application/json") != std::string::npos;
  Json parsed;
  if (!body.empty() && (declaredJson || body.front() == '{')) {
    parsed = Json::parse(body, nullptr, false);
  }
  // A body that is a JSON object is read as JSON even without the right Content-Type
  // (convenient for `curl -d '{...}'` against the control API).
  if (parsed.is_object()) {
    for (auto& [key, value] : parsed.items()) result.params[key] = value;
  } else if (declaredJson) {
    if (!body.empty()) {
      result.error = "Bad Request: can't parse JSON object";
      return result;
    }
  } else if (type.find("multipart/form-data") != std::string::npos) {
    if (!parseMultipart(body, contentType, result.params)) {
      result.error = "Bad Request: can't parse multipart/form-data request";
      return result;
    }
  } else if (!body.empty()) {
    // application/x-www-form-urlencoded, or no content type at all.
    for (auto& [key, value] : parseUrlEncoded(body)) result.params[key] = value;
  }
  normalizeJsonFields(result.params);
  return result;
}

const Json* paramValue(const Json& params, const std::string& key) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<int64_t> paramInt(const Json& params, const std::string& key) {
  const Json* v = paramValue(params, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) return static_cast<int64_t>(v->get<double>());
  if (v->is_string()) return parseInt64(v->get<std::string>());
  return std::nullopt;
}

std::optional<std::string> paramString(const Json& params, const std::string& key) {
  const Json* v = paramValue(params, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

bool paramBool(const Json& params, const std::string& key, bool fallback) {
  const Json* v = paramValue(params, key);
  if (v == nullptr) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number()) return v->get<double>() != 0;
  if (v->is_string()) {
    std::string s = toLower(v->get<std::string>());
    return s == "true" || s == "1";
  }
  return fallback;
}

}  // namespace botfn::fake_telegram
