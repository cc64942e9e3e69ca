// Bot API calls and response classification.
#include "telegram/bot_api.hpp"

#include <future>

namespace botfn::telegram {

bool ApiResponse::notModified() const {
  return error_code == 400 && description.find("message is not modified") != std::string::npos;
}

BotApi::BotApi(net::HttpClient& http, std::string base_url, std::string token)
    : http_(http), base_url_(std::move(base_url)), token_(std::move(token)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

ApiResponse classifyApiResponse(const Result<net::HttpResponse>& http) {
  ApiResponse out;
  if (!http) {
    out.code = http.error().code;
    out.description = http.error().describe();
    return out;
  }
  auto body = nlohmann::json::parse(http->body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    out.error_code = http->status;
    out.code = http->status >= 500 ? ErrorCode::TelegramServer : ErrorCode::TelegramRejected;
    out.description = "non-JSON Bot API answer, HTTP " + std::to_string(http->status);
    return out;
  }
  if (body.value("ok", false)) {
    out.ok = true;
    out.result = body.contains("result") ? body["result"] : nlohmann::json();
    return out;
  }
  out.error_code = body.value("error_code", http->status);
  out.description = body.value("description", "");
  if (auto p = body.find("parameters"); p != body.end() && p->is_object()) {
    if (p->contains("retry_after") && (*p)["retry_after"].is_number_integer()) {
      out.retry_after = (*p)["retry_after"].get<int>();
    }
    if (p->contains("migrate_to_chat_id") && (*p)["migrate_to_chat_id"].is_number_integer()) {
      out.migrate_to_chat_id = (*p)["migrate_to_chat_id"].get<int64_t>();
    }
  }
  if (!out.retry_after) {
    if (const auto* h = http->header("retry-after")) out.retry_after = std::atoi(h->c_str());
  }
  switch (out.error_code) {
    case 429: out.code = ErrorCode::TelegramRateLimited; break;
    case 401: out.code = ErrorCode::TelegramUnauthorized; break;
    case 403: out.code = ErrorCode::TelegramForbidden; break;
    case 409: out.code = ErrorCode::TelegramConflict; break;
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
    done(classifyApiResponse(r));
  });
}

ApiResponse BotApi::callSync(const std::string& method, const nlohmann::json& params,
                             std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<ApiResponse>>();
  auto future = promise->get_future();
  call(method, params, [promise](ApiResponse r) { promise->set_value(std::move(r)); }, timeout);
  return future.get();
}

}  // namespace botfn::telegram
