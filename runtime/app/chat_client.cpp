// The chat terminal. After each line it waits for the bot's answer (until 400 ms pass with no
// new call, at most 10 s), so piped scripts are deterministic.
#include "app/chat_client.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "net/http_client_curl.hpp"

namespace botfn::app {
namespace {

using nlohmann::json;

struct Button {
  int64_t message_id;
  std::string text;
  std::string data;
};

class Chat {
 public:
  explicit Chat(ChatOptions o) : o_(std::move(o)), http_(net::makeCurlHttpClient({"chat"})) {
    tty_ = isatty(STDOUT_FILENO);
  }

  int run() {
    auto calls = get("/control/calls?token=" + o_.token + "&since=0");
    if (!calls) {
      std::cerr << "botfn chat: the fake Bot API at " << o_.fake_url << " does not answer\n";
      return 1;
    }
    for (const auto& c : (*calls)["calls"]) seq_ = std::max(seq_, c.value("seq", int64_t{0}));
    banner();
    std::string line;
    while (prompt(), std::getline(std::cin, line)) {
      if (line.empty()) continue;
      if (line == "/quit" || line == "/exit") break;
      if (line.rfind("/user ", 0) == 0) {
        switchUser(line.substr(6));
        continue;
      }
      if (isNumber(line) && !buttons_.empty()) {
        press(std::stoul(line));
      } else {
        send(line);
      }
      awaitReplies();
    }
    return 0;
  }

 private:
  static bool isNumber(const std::string& s) {
    return !s.empty() && s.size() < 4 && s.find_first_not_of("0123456789") == std::string::npos;
  }

  std::string dim(const std::string& s) const { return tty_ ? "\033[2m" + s + "\033[0m" : s; }
  std::string bold(const std::string& s) const { return tty_ ? "\033[1m" + s + "\033[0m" : s; }

  void banner() {
    std::cout << bold("botfn chat") << " — you are user " << o_.user_id << " (" << o_.first_name
              << "). Type a message; a number presses that button; /user N switches user; "
                 "/quit leaves.\n";
  }
  void prompt() {
    if (tty_) std::cout << "you> " << std::flush;
  }

  std::optional<json> get(const std::string& path) {
    net::HttpRequest req;
    req.url = o_.fake_url + path;
    req.timeout = std::chrono::seconds(15);
    auto r = http_->sendSync(req);
    if (!r || r->status != 200) return std::nullopt;
    auto j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }

  std::optional<json> post(const std::string& path, const json& body) {
    net::HttpRequest req;
    req.method = "POST";
    req.url = o_.fake_url + path;
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body.dump();
    auto r = http_->sendSync(req);
    if (!r) return std::nullopt;
    auto j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }

  void switchUser(const std::string& arg) {
    try {
      o_.user_id = std::stoll(arg);
    } catch (...) {
      std::cout << dim("usage: /user N") << "\n";
      return;
    }
    o_.first_name = "User" + std::to_string(o_.user_id);
    buttons_.clear();
    std::cout << dim("now user " + std::to_string(o_.user_id)) << "\n";
  }

  void send(const std::string& text) {
    auto r = post("/control/message", json{{"token", o_.token},
                                           {"user_id", o_.user_id},
                                           {"first_name", o_.first_name},
                                           {"language_code", o_.language},
                                           {"text", text}});
    if (!r || !r->value("ok", false))
      std::cout << dim("(the fake did not take the message)") << "\n";
  }

  void press(size_t n) {
    if (n < 1 || n > buttons_.size()) {
      std::cout << dim("no button " + std::to_string(n)) << "\n";
      return;
    }
    const auto& b = buttons_[n - 1];
    std::cout << dim("* pressed [" + b.text + "]") << "\n";
    auto r = post("/control/press", json{{"token", o_.token},
                                         {"user_id", o_.user_id},
                                         {"chat_id", o_.user_id},
                                         {"message_id", b.message_id},
                                         {"data", b.data}});
    if (!r || !r->value("ok", false)) std::cout << dim("(the button press was refused)") << "\n";
  }

  void awaitReplies() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool got_any = false;
    while (std::chrono::steady_clock::now() < give_up) {
      const int timeout_ms = got_any ? 400 : 1000;
      auto r =
          get("/control/wait?token=" + o_.token + "&chat_id=" + std::to_string(o_.user_id) +
              "&after_seq=" + std::to_string(seq_) + "&timeout_ms=" + std::to_string(timeout_ms));
      if (!r) return;
      const auto& calls = (*r)["calls"];
      if (calls.empty()) {
        if (got_any) break;
        continue;
      }
      for (const auto& c : calls) {
        seq_ = std::max(seq_, c.value("seq", int64_t{0}));
        show(c);
      }
      got_any = true;
    }
    // Once the bot went quiet: the keyboard of a message the fake already holds must not be
    // printed before that message's own line.
    if (got_any) refreshButtons();
  }

  void show(const json& call) {
    const std::string method = call.value("method", "");
    const json params = call.value("params", json::object());
    if (!call.value("ok", true)) {
      std::cout << dim("(bot's " + method + " failed: " + call.value("description", "") + ")")
                << "\n";
      return;
    }
    if (method == "sendMessage" || method == "sendPhoto") {
      std::cout << bold("bot> ") << params.value("text", params.value("caption", "[photo]"))
                << "\n";
      const auto& result = call.value("response", json::object()).value("result", json::object());
      if (result.contains("message_id") && result["message_id"].is_number_integer()) {
        shown_messages_[o_.user_id].insert(result["message_id"].get<int64_t>());
      }
    } else if (method == "editMessageText") {
      std::cout << bold("bot ✎ ") << params.value("text", "") << "\n";
    } else if (method == "answerCallbackQuery") {
      if (params.contains("text") && !params["text"].get<std::string>().empty()) {
        std::cout << dim("(toast) " + params["text"].get<std::string>()) << "\n";
      }
    } else if (method == "deleteMessage") {
      std::cout << dim("(a message was deleted)") << "\n";
    }
  }

  void refreshButtons() {
    auto r = get("/control/chats/" + std::to_string(o_.user_id) + "/messages?token=" + o_.token);
    if (!r) return;
    buttons_.clear();
    const auto& messages = (*r)["messages"];
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if (!it->contains("reply_markup")) continue;
      if (!it->contains("message_id") ||
          !shown_messages_[o_.user_id].count((*it)["message_id"].get<int64_t>()))
        continue;
      const auto& rows = (*it)["reply_markup"].value("inline_keyboard", json::array());
      for (const auto& row : rows) {
        std::string line = "    ";
        for (const auto& btn : row) {
          buttons_.push_back(Button{(*it)["message_id"].get<int64_t>(), btn.value("text", ""),
                                    btn.value("callback_data", "")});
          line += "[" + std::to_string(buttons_.size()) + "] " + btn.value("text", "") + "  ";
        }
        std::cout << line << "\n";
      }
      break;  // buttons of the newest message with a keyboard
    }
    std::cout << std::flush;
  }

  ChatOptions o_;
  std::map<int64_t, std::set<int64_t>>
      shown_messages_;  // per chat, printed: their keyboards are offered
  std::unique_ptr<net::HttpClient> http_;
  bool tty_ = false;
  int64_t seq_ = 0;
  std::vector<Button> buttons_;
};

}  // namespace

int runChat(const ChatOptions& options) { return Chat(options).run(); }

}  // namespace botfn::app
