// The system under test, for end-to-end tests: the project's fake Bot API plus a real `botfn`
// process on port 0 with its own database and scripts in a temp dir. Helpers talk to both:
// Telegram-like webhook posts, the fake's control API, /metrics counters.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "net/http_client.hpp"
#include "process.hpp"

namespace botfn::e2e {

struct StackOptions {
  bool polling = false;  // botfn poll instead of serve (the fake queues updates)
  bool webhook = true;   // serve mode: point the fake's webhook at botfn
  std::string secret = "e2e_Secret-123";
  std::string app = "demo";
  std::string toml_extra;  // appended to botfn.toml (e.g. "[dispatch]\npaused = true\n")
  std::map<std::string, std::string> env;
  std::vector<std::string> fake_args;
};

struct HttpResult {
  int status = 0;
  std::string body;
  net::Headers headers;
  std::string error;
};

class Stack {
 public:
  explicit Stack(StackOptions options = {});
  ~Stack();

  void startBotfn(bool expect_ready = true);
  // Rewrites botfn.toml with a new extra section (takes effect at the next start).
  void reconfigure(std::string toml_extra);
  int stopBotfn(int sig = 15, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void killBotfn();
  // One more botfn process on the same config and environment plus `env` (several instances
  // sharing PostgreSQL and Redis); returns its port. Stopped with the Stack.
  int startInstance(const std::map<std::string, std::string>& env = {});
  Process& instance(size_t i) { return *instances_.at(i); }
  Process& botfn() { return *botfn_; }
  Process& fake() { return *fake_; }

  int port() const { return port_; }
  int fakePort() const { return fake_port_; }
  std::string fakeUrl() const { return "http://127.0.0.1:" + std::to_string(fake_port_); }
  const std::string& token() const { return token_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string botfnPath() const;

  HttpResult request(const std::string& method, const std::string& url,
                     const std::string& body = "", net::Headers headers = {});
  HttpResult postUpdate(const std::string& body, std::optional<std::string> secret = std::nullopt,
                        const std::string& bot = "demo");
  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);
  // A user message through the fake (delivered by webhook or queued for getUpdates).
  nlohmann::json say(int64_t user, const std::string& text, const std::string& lang = "en");
  // Makes a private chat known to the fake without delivering anything to botfn (webhook off).
  void knowChat(int64_t chat);
  nlohmann::json press(int64_t user, int64_t message_id, const std::string& data);
  // The bot's messages currently in the chat (after edits), from the fake.
  nlohmann::json messages(int64_t chat);
  nlohmann::json calls(const std::string& method = "");
  // Waits until the chat holds n bot messages (or timeout); returns them.
  nlohmann::json waitMessages(int64_t chat, size_t n,
                              std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::string lastText(int64_t chat);
  // A counter or gauge from /metrics ("name{labels}" exactly as rendered); 0 when absent. port 0
  // = the first instance.
  double metric(const std::string& series, int port = 0);
  bool waitMetric(const std::string& series, double at_least,
                  std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::string sql(const std::string& query);  // runs sqlite3 on the database (read-only use)
  std::string logs() const;                   // botfn stderr of every start so far

 private:
  void writeConfig();
  void copyScripts();
  std::unique_ptr<Process> spawnBotfn(const std::string& name,
                                      const std::map<std::string, std::string>& extra_env);

  StackOptions options_;
  std::filesystem::path dir_;
  std::string token_ = "123456:E2E-token_abcdefghijkl";
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<Process> fake_;
  std::unique_ptr<Process> botfn_;
  std::vector<std::unique_ptr<Process>> instances_;  // startInstance()
  std::string past_logs_;
  int port_ = 0;
  int fake_port_ = 0;
};

std::string readFile(const std::filesystem::path& p);
nlohmann::json userMessage(int64_t update_id, int64_t user, const std::string& text);

}  // namespace botfn::e2e
