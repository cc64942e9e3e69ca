// Control API tests: call log, /control/wait, chat transcripts, injected faults (429 shape and
// Retry-After, 502, dropped connections), latency, strict flood limits, reset and process
// lifecycle (port file, stdout line, clean SIGTERM exit).
#include <gtest/gtest.h>

#include <future>

#include "test_support.hpp"

namespace botfn::fake_telegram::testing {
namespace {

class ControlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake.started());
    ASSERT_EQ(fake.userSays(42, "hello")["ok"], true);
  }
  // A crash, sanitizer report or unclean shutdown of the server fails the test.
  void TearDown() override { EXPECT_EQ(fake.terminate(), 0) << fake.stderrText(); }
  HttpResponse send(const std::string& text, int64_t chat = 42) {
    return fake.api("sendMessage", {{"chat_id", chat}, {"text", text}});
  }
  Json calls(const std::string& query = "") {
    return fake.controlGet(std::string("calls?token=") + kToken + query).json();
  }
  FakeTelegram fake;
};

TEST_F(ControlApiTest, StartupWritesPortFileAndListeningLine) {
  EXPECT_GT(fake.port(), 0);
  EXPECT_EQ(fake.stdoutText(),
            "fake-telegram listening on 127.0.0.1:" + std::to_string(fake.port()) + "\n");
  EXPECT_EQ(fake.terminate(), 0);
}

TEST_F(ControlApiTest, CallLogRecordsEveryCall) {
  send("one");
  fake.api("getMe");
  send("");
  Json all = calls();
  ASSERT_EQ(all["calls"].size(), 3u) << all.dump();
  Json first = all["calls"][0];
  EXPECT_EQ(first["method"], "sendMessage");
  EXPECT_EQ(first["params"]["text"], "one");
  EXPECT_EQ(first["status"], 200);
  EXPECT_EQ(first["ok"], true);
  EXPECT_TRUE(first["time"].is_number());
  EXPECT_EQ(all["calls"][2]["status"], 400);
  EXPECT_EQ(all["calls"][2]["ok"], false);
  Json sends = calls("&method=sendMessage&since=" + first["seq"].dump());
  ASSERT_EQ(sends["calls"].size(), 1u);
  EXPECT_EQ(sends["calls"][0]["params"]["text"], "");
}

TEST_F(ControlApiTest, WaitReturnsWhenTheChatChanges) {
  int64_t last = calls()["last_seq"];
  auto waiter = std::async(std::launch::async, [&] {
    return fake
        .controlGet(std::string("wait?token=") + kToken +
                    "&chat_id=42&after_seq=" + std::to_string(last) + "&timeout_ms=10000")
        .json();
  });
  // Calls on other chats or that touch no chat do not wake the waiter.
  fake.api("getMe");
  ASSERT_EQ(waiter.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  send("reply");
  Json woke = waiter.get();
  EXPECT_EQ(woke["timeout"], false);
  ASSERT_EQ(woke["calls"].size(), 1u);
  EXPECT_EQ(woke["calls"][0]["method"], "sendMessage");
  EXPECT_EQ(woke["calls"][0]["chat_id"], 42);

  Json timedOut = fake.controlGet(std::string("wait?token=") + kToken + "&chat_id=42&after_seq=" +
                                  woke["last_seq"].dump() + "&timeout_ms=100")
                      .json();
  EXPECT_EQ(timedOut["timeout"], true);
  EXPECT_TRUE(timedOut["calls"].empty());
}

TEST_F(ControlApiTest, ChatMessagesReflectEditsAndDeletes) {
  int64_t a = send("first").json()["result"]["message_id"];
  int64_t b = send("second").json()["result"]["message_id"];
  fake.api("editMessageText", {{"chat_id", 42}, {"message_id", a}, {"text", "first, edited"}});
  fake.api("deleteMessage", {{"chat_id", 42}, {"message_id", b}});
  Json messages =
      fake.controlGet(std::string("chats/42/messages?token=") + kToken).json()["messages"];
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["text"], "first, edited");
  EXPECT_TRUE(messages[0].contains("edit_date"));
  EXPECT_EQ(fake.controlGet(std::string("chats/5/messages?token=") + kToken).status, 404);
}

TEST_F(ControlApiTest, Injected429HasTelegramShapeAndHeader) {
  auto added = fake.controlPost(
      "faults", {{"method", "sendMessage"}, {"error_code", 429}, {"retry_after", 7}, {"count", 1}});
  ASSERT_EQ(added.status, 200) << added.body;
  auto r = send("flood");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(
      r.body,
      R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}})");
  EXPECT_EQ(r.headers["retry-after"], "7");
  EXPECT_EQ(send("after").status, 200);  // count was 1
  Json logged = calls("&method=sendMessage")["calls"][0];
  EXPECT_EQ(logged["status"], 429);
  EXPECT_EQ(logged["description"], "Too Many Requests: retry after 7");
}

TEST_F(ControlApiTest, Injected502AndDroppedConnection) {
  fake.controlPost(
      "faults", {{"method", "sendmessage"}, {"error_code", 502}, {"description", "Bad Gateway"}});
  auto r = send("x");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.json()["description"], "Bad Gateway");

  fake.controlPost("faults", {{"method", "sendMessage"}, {"drop_connection", true}, {"count", 2}});
  EXPECT_EQ(send("y").status, 0);
  EXPECT_EQ(send("z").status, 0);
  EXPECT_EQ(send("w").status, 200);
  Json log = calls("&method=sendMessage")["calls"];
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[1]["status"], 0);
  // Only the final send changed the chat.
  Json messages =
      fake.controlGet(std::string("chats/42/messages?token=") + kToken).json()["messages"];
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["text"], "w");
}

TEST_F(ControlApiTest, LatencyDelaysAnswersWithoutBlockingOthers) {
  ASSERT_EQ(fake.controlPost("config", {{"latency_ms", 1500}}).status, 200);
  auto started = std::chrono::steady_clock::now();
  auto slow = std::async(std::launch::async, [&] { return fake.api("getMe"); });
  // Control calls are not delayed and are served while the Bot API answer is pending.
  ASSERT_EQ(fake.controlGet("health").status, 200);
  EXPECT_EQ(slow.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  EXPECT_EQ(slow.get().status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));
  fake.controlPost("config", {{"latency_ms", 0}});
}

TEST_F(ControlApiTest, StrictLimitsAnswer429PerChat) {
  ASSERT_EQ(fake.controlPost("config", {{"strict_limits", true}}).status, 200);
  int ok = 0;
  HttpResponse limited;
  for (int i = 0; i < 6; ++i) {
    auto r = send("burst " + std::to_string(i));
    if (r.status == 200)
      ++ok;
    else if (limited.status == 0)
      limited = r;
  }
  EXPECT_LE(ok, 4);
  EXPECT_GE(ok, 3);
  ASSERT_EQ(limited.status, 429) << limited.body;
  int retry = limited.json()["parameters"]["retry_after"];
  EXPECT_GE(retry, 1);
  EXPECT_EQ(limited.headers["retry-after"], std::to_string(retry));
  EXPECT_EQ(limited.json()["description"],
            "Too Many Requests: retry after " + std::to_string(retry));
}

TEST_F(ControlApiTest, ResetClearsCallsMessagesAndFaults) {
  send("before");
  fake.controlPost("faults", {{"method", "getMe"}, {"error_code", 500}});
  ASSERT_EQ(fake.controlPost("reset", Json::object()).status, 200);
  EXPECT_TRUE(calls()["calls"].empty());
  EXPECT_TRUE(
      fake.controlGet(std::string("chats/42/messages?token=") + kToken).json()["messages"].empty());
  EXPECT_EQ(fake.api("getMe").status, 200);
  EXPECT_EQ(send("chat still known").status, 200);
}

TEST_F(ControlApiTest, ControlErrors) {
  auto unknown = fake.controlPost("message", {{"token", "1:nope"}, {"user_id", 1}, {"text", "x"}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json()["ok"], false);
  EXPECT_EQ(fake.controlPost("bots", {{"token", "not-a-token"}}).status, 400);
  EXPECT_EQ(fake.controlGet("nope").status, 404);
}

}  // namespace
}  // namespace botfn::fake_telegram::testing
