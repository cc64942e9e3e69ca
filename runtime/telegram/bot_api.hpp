// Bot API client: calls https://<base>/bot<token>/<method> with a JSON body through net::HttpClient
// and classifies the answer (ok, 429 with retry_after, 4xx, 403, 5xx, transport). Used by the
// sender, the polling loop and `botfn webhook`. The URL (it holds the token) is never logged.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "net/http_client.hpp"

namespace botfn::telegram {

struct ApiResponse {
  bool ok = false;
  std::optional<int64_t> message_id;  // result.message_id, when ok and the result is a Message
  ErrorCode code = ErrorCode::Ok;
  int error_code = 0;  // Telegram's error_code, or 0 on transport errors
  std::string description;
  std::optional<int> retry_after;
  std::optional<int64_t> migrate_to_chat_id;

  bool notModified() const;  // "Bad Request: message is not modified..."
  // The answer's result (null when absent), parsed on first use: the sender only needs
  // message_id, and a DOM per sent message cost more than the rest of classifying it.
  const nlohmann::json& result() const;

 private:
  friend ApiResponse classifyApiResponse(Result<net::HttpResponse> http);
  std::string body_;  // the whole answer, when ok
  mutable std::optional<nlohmann::json> result_;
};

class BotApi {
 public:
  BotApi(net::HttpClient& http, std::string base_url, std::string token);

  void call(const std::string& method, const nlohmann::json& params,
            std::function<void(ApiResponse)> done,
            std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The same with the parameters already serialized (a JSON object), e.g. an outbox row's.
  void callJson(const std::string& method, std::string params_json,
                std::function<void(ApiResponse)> done,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ApiResponse callSync(const std::string& method, const nlohmann::json& params,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

  const std::string& token() const { return token_; }

 private:
  net::HttpClient& http_;
  std::string base_url_;
  std::string token_;
};

// Reads Telegram's answer envelope. Any body is safe: wrong types read as absent.
ApiResponse classifyApiResponse(Result<net::HttpResponse> http);

}  // namespace botfn::telegram
