// Implementation of limits.hpp: token-bucket refill and retry_after computation, and the
// replies produced by injected faults (with default descriptions per error code).
#include "limits.hpp"

#include <algorithm>
#include <cmath>

namespace botfn::fake_telegram {
namespace {

void refill(RateBucket& bucket, double capacity, double perSecond, SteadyTime now) {
  if (bucket.tokens < 0) {
    bucket.tokens = capacity;
  } else {
    double elapsed = std::chrono::duration<double>(now - bucket.last).count();
    bucket.tokens = std::min(capacity, bucket.tokens + elapsed * perSecond);
  }
  bucket.last = now;
}

int secondsUntilToken(const RateBucket& bucket, double perSecond) {
  double wait = (1.0 - bucket.tokens) / perSecond;
  return std::max(1, static_cast<int>(std::ceil(wait)));
}

}  // namespace

int takeRateSlot(BotState& bot, std::optional<int64_t> chatId, SteadyTime now) {
  refill(bot.globalBucket, kBotBurst, kBotPerSecond, now);
  RateBucket* chatBucket = nullptr;
  if (chatId) {
    chatBucket = &bot.chatBuckets[*chatId];
    refill(*chatBucket, kChatBurst, kChatPerSecond, now);
  }
  int retry = 0;
  if (chatBucket != nullptr && chatBucket->tokens < 1) {
    retry = secondsUntilToken(*chatBucket, kChatPerSecond);
  }
  if (bot.globalBucket.tokens < 1) {
    retry = std::max(retry, secondsUntilToken(bot.globalBucket, kBotPerSecond));
  }
  if (retry > 0) return retry;
  bot.globalBucket.tokens -= 1;
  if (chatBucket != nullptr) chatBucket->tokens -= 1;
  return 0;
}

std::string defaultErrorDescription(int code, int retryAfter) {
  switch (code) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden: bot was blocked by the user";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests: retry after " + std::to_string(retryAfter);
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error " + std::to_string(code);
  }
}

HttpReply faultReply(const FaultSpec& fault) {
  if (fault.dropConnection) {
    HttpReply reply;
    reply.dropConnection = true;
    return reply;
  }
  int retryAfter = fault.retryAfter;
  if (fault.errorCode == 429 && retryAfter <= 0) retryAfter = 1;
  std::string description = fault.description.empty()
                                ? defaultErrorDescription(fault.errorCode, retryAfter)
                                : fault.description;
  return apiError(fault.errorCode, description, retryAfter);
}

}  // namespace botfn::fake_telegram
