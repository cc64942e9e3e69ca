// Plain data kept per fake bot: chats and their messages, queued updates, webhook settings and
// delivery stats, callback queries, the Bot API call log and pending long polls. Owned by Store and
// only touched while holding the store lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "request_params.hpp"
#include "responder.hpp"

namespace botfn::fake_telegram {

using SteadyTime = std::chrono::steady_clock::time_point;

struct CallRecord {
  int64_t seq = 0;
  std::string method;  // canonical spelling for known methods, as sent otherwise
  Json params;
  int status = 0;  // HTTP status; 0 when the connection was dropped on purpose
  bool ok = false;
  double time = 0;  // unix seconds
  std::optional<int64_t> chatId;
  std::string response;  // the body answered, as sent (empty when dropped); parsed when read
};

struct QueuedUpdate {
  int64_t updateId = 0;
  Json update;
  std::string orderKey;  // updates with the same key are delivered one at a time, in order
  int attempts = 0;
  SteadyTime nextAttempt{};
  bool inFlight = false;
};

struct DeliveryAttempt {
  int64_t updateId = 0;
  int attempt = 0;
  int status = 0;  // HTTP status, 0 for connection errors
  std::string error;
  double time = 0;
};

struct WebhookState {
  std::string url;  // empty: no webhook
  std::string secret;
  int maxConnections = 40;
  int64_t lastErrorDate = 0;
  std::string lastErrorMessage;
  int64_t delivered = 0;
  int64_t failed = 0;
  int lastStatus = 0;
  std::vector<DeliveryAttempt> attempts;
};

struct StoredMessage {
  Json message;
  bool fromBot = false;
};

struct ChatState {
  Json chat;  // the Chat object
  int64_t nextMessageId = 1;
  std::map<int64_t, StoredMessage> messages;
};

struct CallbackRecord {
  int64_t chatId = 0;
  int64_t messageId = 0;
  int64_t userId = 0;
  bool answered = false;
  Json answer;  // params of answerCallbackQuery
};

struct PollWaiter {
  uint64_t id = 0;
  ResponderPtr responder;
  Json params;
  int limit = 100;
};

struct ChatWaiter {
  uint64_t id = 0;
  ResponderPtr responder;
  int64_t chatId = 0;
  int64_t afterSeq = 0;
};

struct RateBucket {
  double tokens = -1;  // < 0: not initialised yet (starts full)
  SteadyTime last{};
};

struct BotState {
  int64_t id = 0;
  std::string token;
  std::string username;
  std::string firstName;

  int64_t nextUpdateId = 0;
  std::deque<QueuedUpdate> updates;
  Json allowedUpdates;  // null: default set
  WebhookState webhook;
  std::map<int64_t, ChatState> chats;
  std::map<std::string, CallbackRecord> callbacks;
  std::deque<CallRecord> calls;
  int64_t nextSeq = 1;
  std::optional<PollWaiter> poll;
  std::vector<ChatWaiter> chatWaiters;
  std::map<int64_t, RateBucket> chatBuckets;
  RateBucket globalBucket;
  Json commands = Json::object();  // setMyCommands lists keyed by {scope, language_code}
};

}  // namespace botfn::fake_telegram
