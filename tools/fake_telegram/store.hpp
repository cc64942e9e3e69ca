// Store: all mutable state of the fake server (bots, runtime config, injected faults) behind one
// mutex, plus the operations that must run under it: call logging, update queueing and completing
// long polls. Used by bot_api*, control_api*, webhook_delivery and main.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bot_state.hpp"

namespace botfn::fake_telegram {

class Scheduler;

struct RuntimeConfig {
  int latencyMs = 0;
  bool strictLimits = false;
  // Memory bounds: the oldest message of a chat, and the oldest call of a bot's log, are evicted
  // past these. An edit or delete of an evicted message answers like Telegram for a missing one.
  size_t maxMessagesPerChat = 10000;
  size_t maxCalls = 20000;
};

// One injected failure rule from POST /control/faults.
struct FaultSpec {
  std::string token;   // empty: any bot
  std::string method;  // case-insensitive; "*" matches every method
  int errorCode = 0;
  std::string description;
  int retryAfter = 0;
  bool dropConnection = false;
  int remaining = 1;
};

class Store {
 public:
  explicit Store(RuntimeConfig startup);

  std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }

  // ---- Everything below requires the lock. ----
  BotState* findBot(const std::string& token);
  // Registers (or renames) a bot; the token must already be validated.
  BotState& registerBot(const std::string& token, const std::string& username,
                        const std::string& firstName);
  std::vector<BotState*> bots();
  RuntimeConfig& config() { return config_; }

  // Stores a message in its chat, evicting the chat's oldest past maxMessagesPerChat.
  void keepMessage(ChatState& chat, int64_t messageId, StoredMessage message);

  void addFault(FaultSpec fault) { faults_.push_back(std::move(fault)); }
  void clearFaults() { faults_.clear(); }
  Json faultsJson() const;
  // Consumes one use of the first rule matching token and method.
  std::optional<FaultSpec> takeFault(const std::string& token, const std::string& method);

  uint64_t nextWaiterId() { return ++waiterCounter_; }
  uint64_t random64() { return rng_(); }
  // Clears calls, messages, callbacks, queued updates, delivery stats, faults and rate buckets;
  // restores the startup config. Bots, known chats and webhook settings stay (unless dropWebhooks).
  void reset(bool dropWebhooks);

  // Logs a Bot API call and wakes /control/wait waiters interested in its chat.
  const CallRecord& recordCall(BotState& bot, CallRecord record, Outbox& out);
  // Records the call and queues its reply, delayed by the configured latency.
  void answerApiCall(BotState& bot, const ResponderPtr& responder, const std::string& method,
                     const Json& params, std::optional<int64_t> chatId, HttpReply reply,
                     Outbox& out);
  // {"calls":[...],"last_seq":N}; chatId filters to chat-changing calls on that chat.
  Json callsJson(const BotState& bot, int64_t since, std::optional<int64_t> chatId,
                 const std::string& method) const;
  void addChatWaiter(BotState& bot, ChatWaiter waiter) {
    bot.chatWaiters.push_back(std::move(waiter));
  }
  void expireChatWaiter(const std::string& token, uint64_t id, Outbox& out);
  static bool isChatChangingMethod(const std::string& method);

  // ---- update_queue.cpp ----
  // Queues an update (filling update_id when missing) unless allowed_updates filters it out;
  // returns its update_id. Wakes a waiting getUpdates or the webhook delivery thread.
  int64_t enqueueUpdate(BotState& bot, Json update, Outbox& out, bool* queued = nullptr);
  // Forgets updates below offset (negative: keeps only the last -offset updates).
  void confirmUpdates(BotState& bot, int64_t offset);
  Json peekUpdates(const BotState& bot, int limit) const;
  // Answers the pending getUpdates: with the queued updates, or with an error when errorCode != 0.
  void finishPoll(BotState& bot, Outbox& out, int errorCode = 0,
                  const std::string& description = "");
  void expirePoll(const std::string& token, uint64_t id, Outbox& out);

 private:
  std::mutex mutex_;
  RuntimeConfig startupConfig_;
  RuntimeConfig config_;
  std::map<std::string, std::unique_ptr<BotState>> bots_;
  std::deque<FaultSpec> faults_;
  uint64_t waiterCounter_ = 0;
  std::mt19937_64 rng_;
};

// What request handlers need besides the store: the timer thread and the delivery wake-up.
struct ServerContext {
  Store& store;
  Scheduler& scheduler;
  std::function<void()> wakeDelivery;
  void flush(Outbox& out);
};

}  // namespace botfn::fake_telegram
