// Bot API calls and response classification.
#include "telegram/bot_api.hpp"

#include <simdjson.h>

#include <algorithm>
#include <climits>
#include <future>

namespace botfn::telegram {

bool ApiResponse::notModified() const {
  return error_code == 400 && description.find("message is not modified") != std::string::npos;
}

BotApi::BotApi(net::HttpClient& http, std::string base_url, std::string token)
    : http_(http), base_url_(std::move(base_url)), token_(std::move(token)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

namespace {

namespace dom = simdjson::dom;

// A JSON integer as int64_t, or nullopt (nlohmann reads non-negative integers as unsigned).
std::optional<int64_t> int64Of(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    return u <= static_cast<uint64_t>(INT64_MAX) ? std::optional<int64_t>(static_cast<int64_t>(u))
                                                 : std::nullopt;
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

std::optional<int64_t> messageIdOf(const nlohmann::json& result) {
  if (!result.is_object()) return std::nullopt;
  auto it = result.find("message_id");
  return it == result.end() ? std::nullopt : int64Of(*it);
}

// A successful answer read by simdjson: every sent message comes back as one, so this is the path
// that matters. nullopt for anything else (errors, bodies simdjson refuses, big getUpdates
// batches); the reference reader below then decides. Duplicate keys: the last wins, as there.
struct OkAnswer {
  std::optional<int64_t> message_id;
};
std::optional<OkAnswer> fastOkAnswer(const std::string& body) {
  constexpr size_t kFastPathMaxBytes = 64 << 10;  // the parser keeps memory for its largest body
  if (body.size() > kFastPathMaxBytes) return std::nullopt;
  thread_local dom::parser parser;
  dom::element root;
  dom::object top;
  if (parser.parse(body.data(), body.size()).get(root) || root.get_object().get(top)) {
    return std::nullopt;
  }
  bool ok = false;
  std::optional<dom::element> result;
  for (auto field : top) {
    if (field.key == "ok") {
      ok = field.value.is_bool() && field.value.get_bool().value_unsafe();
    } else if (field.key == "result") {
      result = field.value;
    }
  }
  if (!ok) return std::nullopt;
  OkAnswer out;
  dom::object message;
  if (result && !result->get_object().get(message)) {
    for (auto field : message) {
      if (field.key != "message_id") continue;
      out.message_id = field.value.is_int64()
                           ? std::optional<int64_t>(field.value.get_int64().value_unsafe())
                           : std::nullopt;
    }
  }
  return out;
}

int clampedInt(int64_t v) { return static_cast<int>(std::clamp<int64_t>(v, 0, INT32_MAX)); }

}  // namespace

const nlohmann::json& ApiResponse::result() const {
  if (!result_) {
    result_.emplace();
    auto doc = nlohmann::json::parse(body_, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object()) {
      if (auto it = doc.find("result"); it != doc.end()) *result_ = std::move(*it);
    }
  }
  return *result_;
}

ApiResponse classifyApiResponse(Result<net::HttpResponse> http) {
  ApiResponse out;
  if (!http) {
    out.code = http.error().code;
    out.description = http.error().describe();
    return out;
  }
  if (auto fast = fastOkAnswer(http->body)) {
    out.ok = true;
    out.message_id = fast->message_id;
    out.body_ = std::move(http->body);
    return out;
  }
  auto body = nlohmann::json::parse(http->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    out.error_code = http->status;
    out.code = http->status >= 500 ? ErrorCode::TelegramServer : ErrorCode::TelegramRejected;
    out.description = "non-JSON Bot API answer, HTTP " + std::to_string(http->status);
    return out;
  }
  auto field = [&body](const char* key) -> const nlohmann::json* {
    auto it = body.find(key);
    return it == body.end() ? nullptr : &*it;
  };
  if (const auto* ok = field("ok"); ok && ok->is_boolean() && ok->get<bool>()) {
    out.ok = true;
    const auto* result = field("result");
    out.result_ = result ? *result : nlohmann::json();
    out.message_id = messageIdOf(*out.result_);
    return out;
  }
  const auto* error_code = field("error_code");
  out.error_code =
      error_code && int64Of(*error_code)
          ? static_cast<int>(std::clamp<int64_t>(*int64Of(*error_code), INT32_MIN, INT32_MAX))
          : http->status;
  if (const auto* d = field("description"); d && d->is_string())
    out.description = d->get<std::string>();
  if (const auto* p = field("parameters"); p && p->is_object()) {
    if (auto it = p->find("retry_after"); it != p->end()) {
      if (auto v = int64Of(*it)) out.retry_after = clampedInt(*v);
    }
    if (auto it = p->find("migrate_to_chat_id"); it != p->end())
      out.migrate_to_chat_id = int64Of(*it);
  }
  if (!out.retry_after) {
    if (const auto* h = http->header("retry-after"))
      out.retry_after = clampedInt(std::atoll(h->c_str()));
  }
  switch (out.error_code) {
    case 429:
      out.code = ErrorCode::TelegramRateLimited;
      break;
    case 401:
      out.code = ErrorCode::TelegramUnauthorized;
      break;
    case 403:
      out.code = ErrorCode::TelegramForbidden;
      break;
    case 409:
      out.code = ErrorCode::TelegramConflict;
      break;
    default:
      out.code = out.error_code >= 500 ? ErrorCode::TelegramServer : ErrorCode::TelegramRejected;
  }
  return out;
}

void BotApi::call(const std::string& method, const nlohmann::json& params,
                  std::function<void(ApiResponse)> done, std::chrono::milliseconds timeout) {
  callJson(method, params.is_null() ? "{}" : params.dump(), std::move(done), timeout);
}

void BotApi::callJson(const std::string& method, std::string params_json,
                      std::function<void(ApiResponse)> done, std::chrono::milliseconds timeout) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = base_url_ + "/bot" + token_ + "/" + method;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = std::move(params_json);
  req.timeout = timeout;
  req.max_response_bytes = 16 << 20;
  http_.send(std::move(req), [done = std::move(done)](Result<net::HttpResponse> r) {
    done(classifyApiResponse(std::move(r)));
  });
}

ApiResponse BotApi::callSync(const std::string& method, const nlohmann::json& params,
                             std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<ApiResponse>>();
  auto future = promise->get_future();
  call(
      method, params, [promise](ApiResponse r) { promise->set_value(std::move(r)); }, timeout);
  return future.get();
}

}  // namespace botfn::telegram
