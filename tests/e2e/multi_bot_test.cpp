// Several bots in one process sharing one app, webhook management (set at start, by hand with
// `botfn webhook set|info|delete`), and polling that deletes an active webhook on 409.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

const std::string kSecondToken = "222222:Second-bot_token_xyz";

StackOptions twoBots() {
  StackOptions o;
  o.app = "testbot";
  o.env = {{"SECOND_TOKEN", kSecondToken}, {"SECOND_SECRET", "second_Secret-9"}};
  o.toml_extra =
      "[bots.second]\napp = \"testbot\"\ntoken_env = \"SECOND_TOKEN\"\nsecret_env = "
      "\"SECOND_SECRET\"\n"
      "username = \"second_bot\"\nwebhook_url = \"http://127.0.0.1:9/tg/second/webhook\"\n"
      "allowed_updates = [\"message\", \"callback_query\"]\nmax_connections = 7\n"
      "[bots.second.vars]\nsupport = \"@second_support\"\n";
  return o;
}

TEST(MultiBotTest, TwoBotsShareOneAppWithTheirOwnVarsAndSecrets) {
  StackOptions o = twoBots();
  o.webhook = false;
  // The fake must know the second bot before botfn starts (setWebhook at start).
  Stack s(o);
  ASSERT_TRUE(s.botfn().running()) << s.logs();
  s.knowChat(61);
  s.control("POST", "/control/bots", {{"token", kSecondToken}, {"username", "second_bot"}});
  s.control("POST", "/control/message", {{"token", kSecondToken}, {"user_id", 62}, {"text", "x"}});
  EXPECT_EQ(s.postUpdate(userMessage(1, 61, "/vars").dump()).status, 200);
  EXPECT_EQ(
      s.postUpdate(userMessage(1, 62, "/vars").dump(), std::string("e2e_Secret-123"), "second")
          .status,
      401);
  EXPECT_EQ(
      s.postUpdate(userMessage(1, 62, "/vars").dump(), std::string("second_Secret-9"), "second")
          .status,
      200);
  ASSERT_TRUE(waitUntil([&] { return s.lastText(61) == "support @e2e_support"; }, seconds(10)));
  ASSERT_TRUE(waitUntil(
      [&] {
        auto m = s.control("GET", "/control/chats/62/messages?token=" + kSecondToken)["messages"];
        return !m.empty() && m.back().value("text", "") == "support @second_support";
      },
      seconds(10)));
  // Same update_id for two bots: both processed (dedupe is per bot).
  EXPECT_EQ(s.sql("SELECT count(*) FROM processed WHERE update_id = 1"), "2");
}

TEST(MultiBotTest, WebhookIsSetAtStartAndManagedByHand) {
  StackOptions o = twoBots();
  o.webhook = false;
  Stack s(o);
  // The fake learned the second bot only now: set it by hand, as an operator would.
  s.control("POST", "/control/bots", {{"token", kSecondToken}, {"username", "second_bot"}});
  std::map<std::string, std::string> env{{"E2E_BOT_TOKEN", s.token()},
                                         {"E2E_BOT_SECRET", "e2e_Secret-123"},
                                         {"SECOND_TOKEN", kSecondToken},
                                         {"SECOND_SECRET", "second_Secret-9"}};
  const std::string config = (s.dir() / "botfn.toml").string();
  Process set({BOTFN_BIN, "webhook", "set", "--config", config, "--bot", "second"}, env,
              s.dir() / "logs", "wh");
  ASSERT_EQ(set.wait(seconds(20)), 0) << set.stderrText();
  auto info = s.control("GET", "/control/webhook?token=" + kSecondToken);
  EXPECT_EQ(info.value("url", ""), "http://127.0.0.1:9/tg/second/webhook") << info.dump();
  EXPECT_TRUE(info.value("secret_set", false)) << info.dump();
  nlohmann::json set_call;
  const auto calls = s.control("GET", "/control/calls?token=" + kSecondToken + "&since=0");
  for (const auto& c : calls["calls"]) {
    if (c["method"] == "setWebhook") set_call = c["params"];
  }
  ASSERT_TRUE(set_call.is_object()) << calls.dump();
  EXPECT_EQ(set_call.value("max_connections", 0), 7) << set_call.dump();
  EXPECT_EQ(set_call["allowed_updates"], nlohmann::json::array({"message", "callback_query"}));
  EXPECT_EQ(set_call.value("secret_token", ""), "second_Secret-9");
  Process show({BOTFN_BIN, "webhook", "info", "--config", config, "--bot", "second"}, env,
               s.dir() / "logs", "wh");
  ASSERT_EQ(show.wait(seconds(20)), 0);
  EXPECT_NE(show.stdoutText().find("/tg/second/webhook"), std::string::npos) << show.stdoutText();
  Process del({BOTFN_BIN, "webhook", "delete", "--config", config, "--bot", "second"}, env,
              s.dir() / "logs", "wh");
  ASSERT_EQ(del.wait(seconds(20)), 0);
  EXPECT_EQ(s.control("GET", "/control/webhook?token=" + kSecondToken).value("url", "x"), "");
  EXPECT_EQ(show.stdoutText().find(kSecondToken), std::string::npos);  // never printed
}

TEST(MultiBotTest, PollingDeletesAnActiveWebhook) {
  StackOptions o;
  o.app = "testbot";
  o.polling = true;
  Stack s(o);
  s.stopBotfn();
  auto r =
      s.request("POST", s.fakeUrl() + "/bot" + s.token() + "/setWebhook",
                R"({"url":"http://127.0.0.1:9/hook"})", {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  s.startBotfn();  // getUpdates answers 409 while the webhook is set
  ASSERT_TRUE(waitUntil([&] { return !s.calls("deleteWebhook").empty(); }, seconds(15)))
      << s.logs();
  s.say(63, "after webhook");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(63) == "echo after webhook"; }, seconds(15)))
      << s.logs();
  EXPECT_GE(s.metric("botfn_poll_errors_total{bot=\"demo\",code=\"409\"}"), 1);
}

TEST(MultiBotTest, SecondPollerConflictIsBackedOffAndNothingIsLost) {
  StackOptions o;
  o.app = "testbot";
  o.polling = true;
  Stack s(o);
  // A second instance polling the same bot (its own database): Telegram answers the older
  // getUpdates with 409; both must keep running and back off instead of spinning.
  const auto second_dir = s.dir() / "second";
  std::filesystem::create_directories(second_dir);
  std::string config = readFile(s.dir() / "botfn.toml");
  const std::string first_db = (s.dir() / "db.sqlite").string();
  config.replace(config.find(first_db), first_db.size(), (second_dir / "db.sqlite").string());
  { std::ofstream(second_dir / "botfn.toml") << config; }
  Process second({BOTFN_BIN, "poll", "--config", (second_dir / "botfn.toml").string(),
                  "--port-file", (second_dir / "port").string()},
                 {{"E2E_BOT_TOKEN", s.token()}, {"E2E_BOT_SECRET", "e2e_Secret-123"}},
                 s.dir() / "logs", "second");
  ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(second_dir / "port"); }, seconds(20)))
      << second.stderrText();
  const int second_port = std::stoi(readFile(second_dir / "port"));
  auto conflicts = [&] {
    auto r = s.request("GET", "http://127.0.0.1:" + std::to_string(second_port) + "/metrics");
    const bool in_second =
        r.body.find("botfn_poll_errors_total{bot=\"demo\",code=\"409\"}") != std::string::npos;
    return in_second || s.metric("botfn_poll_errors_total{bot=\"demo\",code=\"409\"}") >= 1;
  };
  ASSERT_TRUE(waitUntil(conflicts, seconds(20)));
  s.say(64, "one of us");
  ASSERT_TRUE(waitUntil([&] { return s.lastText(64) == "echo one of us"; }, seconds(30)));
  EXPECT_TRUE(s.botfn().running());
  EXPECT_TRUE(second.running());
  // Backing off, not spinning: far fewer getUpdates calls than a tight loop would make.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_LT(s.calls("getUpdates").size(), 200u);
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(seconds(15)), 0);
}

}  // namespace
}  // namespace botfn::e2e
