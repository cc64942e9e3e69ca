// Control API under /control/ (JSON in, JSON out): registering bots and chats, injecting user
// messages, button presses and raw updates, inspecting calls/messages/webhook stats, long-polling
// for chat changes, faults, config and reset. Used by tests and the `botfn chat` client; see
// README.md for the exact contract.
#pragma once

#include <string>

#include "store.hpp"

namespace botfn::fake_telegram {

class ControlApi {
 public:
  explicit ControlApi(ServerContext& ctx) : ctx_(ctx) {}
  // path is the full request path ("/control/...").
  void handle(const std::string& httpMethod, const std::string& path, const ParsedParams& params,
              const ResponderPtr& responder);

 private:
  ServerContext& ctx_;
};

// Shared by control_api.cpp and control_updates.cpp; handlers run under the store lock.
struct ControlCall {
  ServerContext& ctx;
  const Json& params;
  ResponderPtr responder;
  Outbox& out;
  std::string pathArg;    // e.g. the chat id in /control/chats/<id>/messages
  bool deferred = false;  // the handler answers later (long poll)
};

// Resolves params.token to a bot, or sets reply to the error answer.
BotState* controlBot(ControlCall& call, HttpReply& reply);

HttpReply controlInjectMessage(ControlCall& call);  // POST /control/message
HttpReply controlPress(ControlCall& call);          // POST /control/press
HttpReply controlRawUpdate(ControlCall& call);      // POST /control/update
HttpReply controlRegisterChat(ControlCall& call);   // POST /control/chats

}  // namespace botfn::fake_telegram
