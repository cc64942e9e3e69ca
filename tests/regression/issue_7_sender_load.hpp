// Load for the issue 7 sender crash tests: many chats post numbered messages straight to botfn's
// webhook (the testbot echoes each one), per-chat order kept by giving each poster thread its own
// chats. A poster stops at its first failed post (botfn was killed); run() again resumes every
// chat at its first message that did not get a 200. Reads the fake's call log to check replies.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stack.hpp"

namespace botfn::e2e {

class ChatLoad {
 public:
  ChatLoad(Stack& stack, int chats, int per_chat, int64_t first_chat)
      : stack_(stack),
        per_chat_(per_chat),
        first_chat_(first_chat),
        next_(chats, 0),
        port_(stack.port()) {}

  int chats() const { return static_cast<int>(next_.size()); }
  int64_t chatId(int c) const { return first_chat_ + c; }
  static std::string text(int i) { return "m" + std::to_string(i); }
  static std::string reply(int i) { return "echo " + text(i); }

  // Makes every chat known to the fake (queued there, never delivered: webhook off).
  void registerChats() {
    for (int c = 0; c < chats(); ++c) {
      stack_.control("POST", "/control/message",
                     {{"token", stack_.token()}, {"user_id", chatId(c)}, {"text", "x"}});
    }
  }

  // Posts until every message got a 200 or a post failed on every thread. Each thread sends one
  // message per chat in turn (its chats interleave, as Telegram's deliveries do). With retry_for,
  // a failed post is tried again (as Telegram redelivers) until it gets a 200 or retry_for has
  // passed since the call: the load goes on through a kill and a restart.
  void run(int threads, std::chrono::milliseconds retry_for = {}) {
    const auto give_up = std::chrono::steady_clock::now() + retry_for;
    std::vector<std::thread> posters;
    for (int t = 0; t < threads; ++t) {
      posters.emplace_back([this, t, threads, give_up] {
        bool more = true;
        while (more) {
          more = false;
          for (int c = t; c < chats(); c += threads) {
            const int i = next_[static_cast<size_t>(c)];
            if (i >= per_chat_) continue;
            // A unique update id per message: a repost after a crash is deduplicated.
            const int64_t id = 5000000 + static_cast<int64_t>(c) * 1000 + i;
            const std::string body = userMessage(id, chatId(c), text(i)).dump();
            while (post(body) != 200) {
              if (std::chrono::steady_clock::now() >= give_up) return;
              std::this_thread::sleep_for(std::chrono::milliseconds(5));  // botfn is restarting
            }
            next_[static_cast<size_t>(c)] = i + 1;
            accepted_.fetch_add(1);
            more = true;
          }
        }
      });
    }
    for (auto& p : posters) p.join();
  }

  // Where posts go: botfn's port changes at each start (call after startBotfn()).
  void retarget() {
    std::lock_guard lock(mutex_);
    port_ = stack_.port();
  }

  int accepted() const { return accepted_.load(); }
  bool allPosted() const {
    for (int n : next_) {
      if (n < per_chat_) return false;
    }
    return true;
  }

  // Texts the fake received in sendMessage calls, per chat, in arrival order.
  std::map<int64_t, std::vector<std::string>> sentTexts() {
    std::map<int64_t, std::vector<std::string>> out;
    for (const auto& call : stack_.calls("sendMessage")) {
      const auto& p = call["params"];
      if (!p.is_object() || !p.contains("chat_id") || !p.contains("text")) continue;
      const int64_t chat = p["chat_id"].is_number() ? p["chat_id"].get<int64_t>()
                                                    : std::stoll(p["chat_id"].get<std::string>());
      out[chat].push_back(p["text"].get<std::string>());
    }
    return out;
  }

 private:
  int post(const std::string& body) {
    int port = 0;
    {
      std::lock_guard lock(mutex_);
      port = port_;
    }
    return stack_
        .request("POST", "http://127.0.0.1:" + std::to_string(port) + "/tg/demo/webhook", body,
                 {{"Content-Type", "application/json"},
                  {"X-Telegram-Bot-Api-Secret-Token", StackOptions{}.secret}})
        .status;
  }

  Stack& stack_;
  int per_chat_;
  int64_t first_chat_;
  std::vector<int> next_;  // per chat: the first message without a 200 (its thread only)
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  int port_ = 0;
};

}  // namespace botfn::e2e
