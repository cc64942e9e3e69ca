// `botfn chat`: a terminal where a person talks to the bot as a Telegram user would, through the
// fake Bot API's control endpoints (tools/fake_telegram): typed lines become user messages, a
// number presses that inline button, /user N switches user; replies and edits print as they come.
#pragma once

#include <cstdint>
#include <string>

namespace botfn::app {

struct ChatOptions {
  std::string fake_url = "http://127.0.0.1:8081";
  std::string token;
  int64_t user_id = 1001;
  std::string first_name = "Alice";
  std::string language = "en";
};

int runChat(const ChatOptions& options);

}  // namespace botfn::app
