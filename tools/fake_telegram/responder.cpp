// Implementation of responder.hpp: Bot API / control API reply builders and the Outbox that
// sends collected replies (immediately or via the scheduler) after the store lock is released.
#include "responder.hpp"

#include "scheduler.hpp"

namespace botfn::fake_telegram {

HttpReply apiOk(const Json& result, const std::string& description) {
  Json body = Json::object();
  body["ok"] = true;
  body["result"] = result;
  if (!description.empty()) body["description"] = description;
  return HttpReply{200, body.dump(), "application/json", {}, false};
}

HttpReply apiError(int code, const std::string& description, int retryAfter) {
  Json body = Json::object();
  body["ok"] = false;
  body["error_code"] = code;
  body["description"] = description;
  HttpReply reply{code, "", "application/json", {}, false};
  if (retryAfter > 0) {
    body["parameters"] = Json{{"retry_after", retryAfter}};
    if (code == 429) reply.headers.emplace_back("Retry-After", std::to_string(retryAfter));
  }
  reply.body = body.dump();
  return reply;
}

HttpReply controlOk(const Json& fields) {
  Json body = Json::object();
  body["ok"] = true;
  for (auto& [key, value] : fields.items()) body[key] = value;
  return HttpReply{200, body.dump(), "application/json", {}, false};
}

HttpReply controlError(int status, const std::string& description) {
  Json body = Json{{"ok", false}, {"description", description}};
  return HttpReply{status, body.dump(), "application/json", {}, false};
}

void Outbox::reply(ResponderPtr responder, HttpReply reply, std::chrono::milliseconds delay) {
  pending_.push_back(Pending{std::move(responder), std::move(reply), delay});
}

void Outbox::flush(Scheduler& scheduler, const std::function<void()>& wake) {
  for (auto& item : pending_) {
    if (item.delay.count() > 0) {
      scheduler.runAfter(item.delay, [responder = item.responder, reply = std::move(item.reply)] {
        responder->send(reply);
      });
    } else {
      item.responder->send(std::move(item.reply));
    }
  }
  pending_.clear();
  if (wakeDelivery_ && wake) wake();
  wakeDelivery_ = false;
}

}  // namespace botfn::fake_telegram
