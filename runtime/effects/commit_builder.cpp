// Commit assembly for successful runs, dead letters and skipped updates.
#include "effects/commit_builder.hpp"

#include <openssl/rand.h>

#include <atomic>
#include <cstdio>

namespace botfn::effects {
namespace {

storage::OutboxMessage callbackAnswer(const RunInput& input) {
  return storage::OutboxMessage{
      input.bot->name,
      input.update.lane,
      input.update.chat_id.value_or(0),
      "answerCallbackQuery",
      nlohmann::json{{"callback_query_id", input.update.callback_id}}.dump(),
      "",
      ""};
}

storage::Commit baseCommit(const RunInput& input) {
  storage::Commit c;
  c.bot = input.bot->name;
  c.update_id = input.entry.update_id;
  c.kind = input.update.kind;
  return c;
}

}  // namespace

storage::ConversationKey conversationKeyOf(const std::string& bot, const telegram::Update& u) {
  return storage::ConversationKey{bot, u.chat_id.value_or(0), u.user_id.value_or(0)};
}

std::string newHandle() {
  // 48 random bits drawn once per process + a counter: unique across restarts and instances,
  // without a CSPRNG call per message.
  static const std::string prefix = [] {
    unsigned char bytes[6];  // 48 random bits
    RAND_bytes(bytes, sizeof bytes);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "h";
    for (unsigned char b : bytes) {
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
    return out;
  }();
  static std::atomic<uint64_t> counter{0};
  char suffix[13];  // 48-bit counter: no wrap in a process's lifetime
  std::snprintf(suffix, sizeof suffix, "%012llx",
                static_cast<unsigned long long>(counter.fetch_add(1) & 0xffffffffffffULL));
  return prefix + suffix;
}

storage::Commit buildCommit(const RunInput& input, Effects effects) {
  storage::Commit c = baseCommit(input);
  c.handled = effects.handled;
  if (effects.state || effects.data_json) {
    c.conversation_key = conversationKeyOf(input.bot->name, input.update);
    c.conversation =
        storage::Conversation{effects.state.value_or(input.conversation.state),
                              effects.data_json.value_or(input.conversation.data_json)};
  }
  c.app_writes = std::move(effects.writes);
  // Stop the button's spinner first: answer an unanswered callback query before other sends.
  if (input.update.kind == "callback_query" && !effects.answered_callback &&
      !input.update.callback_id.empty()) {
    c.outbox.push_back(callbackAnswer(input));
  }
  for (auto& m : effects.outbox) c.outbox.push_back(std::move(m));
  return c;
}

storage::Commit buildDeadLetterCommit(const RunInput& input, const Error& error,
                                      const std::string& traceback, int attempts) {
  storage::Commit c = baseCommit(input);
  c.dead_letter = storage::DeadLetter{0,
                                      input.bot->name,
                                      input.entry.update_id,
                                      input.update.lane,
                                      input.update.kind,
                                      input.entry.body,
                                      error.describe(),
                                      traceback,
                                      attempts,
                                      0};
  if (input.update.kind == "callback_query" && !input.update.callback_id.empty()) {
    c.outbox.push_back(callbackAnswer(input));
  }
  if (!input.bot->error_text.empty() && input.update.chat_id) {
    c.outbox.push_back(storage::OutboxMessage{
        input.bot->name, input.update.lane, *input.update.chat_id, "sendMessage",
        nlohmann::json{{"chat_id", *input.update.chat_id}, {"text", input.bot->error_text}}.dump(),
        "", ""});
  }
  return c;
}

storage::Commit buildSkipCommit(const RunInput& input) {
  storage::Commit c = baseCommit(input);
  c.handled = false;
  return c;
}

}  // namespace botfn::effects
