// LuaAppFixture: one flow::Worker running the real Lua app runtime (lua/app_runtime.hpp) on an
// app written by the test into a temporary scripts folder beside the real scripts-lua/lib, with
// SQLite storage and an HTTP client whose requests the test answers by hand (HeldHttpClient).
// Used by the Lua regression tests (tests/regression/issue_7_*).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "flow/worker.hpp"
#include "lua/app_runtime.hpp"
#include "net/http_client.hpp"
#include "sqlite_backend.hpp"

namespace botfn::lua::testing {

// Keeps every request until the test answers it with complete().
class HeldHttpClient final : public net::HttpClient {
 public:
  void send(net::HttpRequest request, net::HttpCallback done) override {
    {
      std::lock_guard lock(mu_);
      held_.push_back({std::move(request), std::move(done)});
    }
    cv_.notify_all();
  }
  void abortAll() override {}
  size_t inFlight() const override {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Answers the oldest held request with 200 and `body`; false if none is held.
  bool complete(const std::string& body) {
    net::HttpCallback done;
    {
      std::lock_guard lock(mu_);
      if (held_.empty()) return false;
      done = std::move(held_.front().done);
      held_.erase(held_.begin());
    }
    done(net::HttpResponse{200, body, {}});
    return true;
  }
  // Waits (bounded) until `n` requests are held.
  bool waitHeld(size_t n, std::chrono::seconds deadline = std::chrono::seconds(60)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return held_.size() >= n; });
  }

 private:
  struct Held {
    net::HttpRequest request;
    net::HttpCallback done;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Held> held_;
};

class LuaAppFixture : public ::testing::Test {
 protected:
  // Writes apps/t/main.lua (and `files`, relative to apps/t/) and starts the worker.
  void start(const std::string& mainLua, const std::map<std::string, std::string>& files = {},
             size_t memoryBytes = size_t{64} << 20) {
    namespace fs = std::filesystem;
    dir_ =
        fs::temp_directory_path() / ("botfn_lua_fixture_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / "scripts/apps/t");
    fs::copy(fs::path(BOTFN_SOURCE_DIR) / "scripts-lua/lib", dir_ / "scripts/lib",
             fs::copy_options::recursive);
    std::ofstream(dir_ / "scripts/apps/t/main.lua") << mainLua;
    for (const auto& [path, text] : files) {
      fs::create_directories((dir_ / "scripts/apps/t" / path).parent_path());
      std::ofstream(dir_ / "scripts/apps/t" / path) << text;
    }
    options_.scripts_dir = dir_ / "scripts";
    options_.cpu_budget = std::chrono::milliseconds(1000);
    options_.memory_bytes = memoryBytes;
    auto factory =
        makeExecutorFactory(options_, HostServices{&backend_.store(), &http_, &metrics_});
    worker_ = std::make_unique<flow::Worker>(0, factory, 8 << 20);
    profile_ = std::make_shared<effects::BotProfile>(
        effects::BotProfile{"demo", "t", "demo_bot", nlohmann::json::object(), ""});
  }
  void TearDown() override {
    while (http_.complete("")) {
    }
    worker_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Starts the update on the worker; the future is ready when the run ends.
  std::shared_future<effects::RunOutcome> runAsync(const nlohmann::json& update) {
    effects::RunInput in;
    in.bot = profile_;
    in.update_doc = telegram::UpdateDocument::fromJson(update);
    in.update = telegram::parseUpdateValue(update, "demo_bot");
    in.entry.update_id = in.update.update_id;
    in.conversation = {"", "{}"};
    auto input = std::make_shared<const effects::RunInput>(std::move(in));
    auto promise = std::make_shared<std::promise<effects::RunOutcome>>();
    std::shared_future<effects::RunOutcome> future = promise->get_future().share();
    worker_->post([this, input, promise] {
      worker_->executor().run(
          input, [promise](effects::RunOutcome o) { promise->set_value(std::move(o)); });
    });
    return future;
  }
  effects::RunOutcome run(const nlohmann::json& update) {
    auto f = runAsync(update);
    EXPECT_EQ(f.wait_for(std::chrono::seconds(120)), std::future_status::ready);
    return f.get();
  }

  // A text message (a /command when it starts with '/') from user = chat `chatId`.
  static nlohmann::json message(int64_t chatId, const std::string& text) {
    nlohmann::json m{
        {"message_id", 10},
        {"date", 1},
        {"chat", {{"id", chatId}, {"type", "private"}}},
        {"from", {{"id", chatId}, {"is_bot", false}, {"first_name", "A"}, {"language_code", "en"}}},
        {"text", text}};
    if (!text.empty() && text[0] == '/') {
      m["entities"] = {
          {{"type", "bot_command"},
           {"offset", 0},
           {"length", text.find(' ') == std::string::npos ? text.size() : text.find(' ')}}};
    }
    return {{"update_id", ++nextUpdateId_}, {"message", m}};
  }
  // The "text" of the n-th message the run recorded ("" if there is none).
  static std::string replyText(const effects::RunOutcome& out, size_t n = 0) {
    if (out.effects.outbox.size() <= n) return "";
    auto params = nlohmann::json::parse(out.effects.outbox[n].params_json);
    return params.value("text", "");
  }

  storage::contract::SqliteBackend backend_;
  Metrics& metrics_ = backend_.metrics();
  HeldHttpClient http_;
  std::filesystem::path dir_;
  AppRuntimeOptions options_;
  std::unique_ptr<flow::Worker> worker_;
  std::shared_ptr<effects::BotProfile> profile_;
  static inline int64_t nextUpdateId_ = 0;
};

}  // namespace botfn::lua::testing
