// Store operations on the per-bot update queue: queueing with allowed_updates filtering,
// confirming by offset, and answering a pending getUpdates long poll.
#include <algorithm>

#include "store.hpp"

namespace botfn::fake_telegram {
namespace {

std::string updateType(const Json& update) {
  for (auto& [key, value] : update.items()) {
    if (key != "update_id") return key;
  }
  return "";
}

bool isAllowed(const Json& allowed, const std::string& type) {
  if (!allowed.is_array() || allowed.empty()) {
    return type != "chat_member" && type != "message_reaction" && type != "message_reaction_count";
  }
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const Json& t) { return t.is_string() && t.get<std::string>() == type; });
}

// Telegram serialises delivery per chat for messages and per user for queries.
std::string orderKey(const Json& update, const std::string& type) {
  const Json& body = update.at(type);
  if (!body.is_object()) return "global";
  if (body.contains("chat") && body["chat"].is_object() && body["chat"].contains("id")) {
    return "chat:" + body["chat"]["id"].dump();
  }
  if (body.contains("from") && body["from"].is_object() && body["from"].contains("id")) {
    return "user:" + body["from"]["id"].dump();
  }
  if (body.contains("user") && body["user"].is_object() && body["user"].contains("id")) {
    return "user:" + body["user"]["id"].dump();
  }
  return "global";
}

}  // namespace

int64_t Store::enqueueUpdate(BotState& bot, Json update, Outbox& out, bool* queued) {
  int64_t id = 0;
  auto existing = update.find("update_id");
  if (existing != update.end() && existing->is_number_integer()) {
    id = existing->get<int64_t>();
    bot.nextUpdateId = std::max(bot.nextUpdateId, id + 1);
  } else {
    id = bot.nextUpdateId++;
    Json ordered = Json::object();
    ordered["update_id"] = id;
    for (auto& [key, value] : update.items()) {
      if (key != "update_id") ordered[key] = value;
    }
    update = std::move(ordered);
  }
  std::string type = updateType(update);
  if (queued != nullptr) *queued = false;
  if (type.empty() || !isAllowed(bot.allowedUpdates, type)) return id;
  if (queued != nullptr) *queued = true;

  QueuedUpdate entry;
  entry.updateId = id;
  entry.orderKey = orderKey(update, type);
  entry.update = std::move(update);
  bot.updates.push_back(std::move(entry));
  if (!bot.webhook.url.empty()) {
    out.wakeDelivery();
  } else if (bot.poll) {
    finishPoll(bot, out);
  }
  return id;
}

void Store::confirmUpdates(BotState& bot, int64_t offset) {
  auto& q = bot.updates;
  if (offset > 0) {
    q.erase(std::remove_if(q.begin(), q.end(),
                           [&](const QueuedUpdate& u) { return u.updateId < offset; }),
            q.end());
  } else if (offset < 0) {
    size_t keep = static_cast<size_t>(-offset);
    if (q.size() > keep) q.erase(q.begin(), q.begin() + static_cast<long>(q.size() - keep));
  }
}

Json Store::peekUpdates(const BotState& bot, int limit) const {
  Json list = Json::array();
  for (const auto& u : bot.updates) {
    if (static_cast<int>(list.size()) >= limit) break;
    list.push_back(u.update);
  }
  return list;
}

void Store::finishPoll(BotState& bot, Outbox& out, int errorCode, const std::string& description) {
  if (!bot.poll) return;
  PollWaiter waiter = std::move(*bot.poll);
  bot.poll.reset();
  HttpReply reply =
      errorCode != 0 ? apiError(errorCode, description) : apiOk(peekUpdates(bot, waiter.limit));
  answerApiCall(bot, waiter.responder, "getUpdates", waiter.params, std::nullopt, std::move(reply),
                out);
}

void Store::expirePoll(const std::string& token, uint64_t id, Outbox& out) {
  BotState* bot = findBot(token);
  if (bot == nullptr || !bot->poll || bot->poll->id != id) return;
  finishPoll(*bot, out);
}

}  // namespace botfn::fake_telegram
