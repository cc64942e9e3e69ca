// Webhook tests: setWebhook validation and 409 for getUpdates, delivery with the secret header to
// a local receiver, per-chat ordering across retries, Retry-After, and methods in webhook replies.
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "webhook_receiver.hpp"

namespace botfn::fake_telegram::testing {
namespace {

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake.started()); }
  // A crash, sanitizer report or unclean shutdown of the server fails the test.
  void TearDown() override { EXPECT_EQ(fake.terminate(), 0) << fake.stderrText(); }
  Json stats() { return fake.controlGet(std::string("webhook?token=") + kToken).json(); }
  int64_t updateIdOf(const WebhookReceiver::Request& r) {
    return Json::parse(r.body)["update_id"].get<int64_t>();
  }
  FakeTelegram fake;
  WebhookReceiver receiver;
};

TEST_F(WebhookTest, GetUpdatesConflictsWhileWebhookIsSet) {
  ASSERT_EQ(fake.api("setWebhook", {{"url", receiver.url()}}).json()["result"], true);
  auto r = fake.api("getUpdates");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.json(), (Json{{"ok", false},
                            {"error_code", 409},
                            {"description",
                             "Conflict: can't use getUpdates method while webhook is active; use "
                             "deleteWebhook to delete the webhook first"}}));
  auto info = fake.api("getWebhookInfo").json()["result"];
  EXPECT_EQ(info["url"], receiver.url());
  EXPECT_EQ(info["has_custom_certificate"], false);
  EXPECT_EQ(fake.api("deleteWebhook").json()["result"], true);
  EXPECT_EQ(fake.api("getUpdates").status, 200);
  EXPECT_EQ(fake.api("getWebhookInfo").json()["result"]["url"], "");
}

TEST_F(WebhookTest, SecretTokenIsValidated) {
  auto tooLong =
      fake.api("setWebhook", {{"url", receiver.url()}, {"secret_token", std::string(257, 'a')}});
  EXPECT_EQ(tooLong.status, 400);
  EXPECT_EQ(tooLong.json()["description"], "Bad Request: secret token is too long");
  auto badChars = fake.api("setWebhook", {{"url", receiver.url()}, {"secret_token", "no spaces!"}});
  EXPECT_EQ(badChars.status, 400);
  EXPECT_EQ(badChars.json()["description"],
            "Bad Request: secret token contains unallowed characters");
  EXPECT_EQ(
      fake.api("setWebhook", {{"url", receiver.url()}, {"secret_token", std::string(256, '_')}})
          .status,
      200);
}

TEST_F(WebhookTest, DeliversUpdatesWithSecretHeader) {
  ASSERT_EQ(
      fake.api("setWebhook", {{"url", receiver.url("/tg/hook")}, {"secret_token", "s3cr3t-_X"}})
          .status,
      200);
  Json injected = fake.userSays(42, "/help");
  ASSERT_TRUE(receiver.waitForRequests(1, std::chrono::seconds(5)));
  auto request = receiver.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/tg/hook");
  EXPECT_EQ(request.headers["x-telegram-bot-api-secret-token"], "s3cr3t-_X");
  EXPECT_EQ(request.headers["content-type"], "application/json");
  Json update = Json::parse(request.body);
  EXPECT_EQ(update["update_id"], injected["update_id"]);
  EXPECT_EQ(update["message"]["text"], "/help");
  EXPECT_EQ(update["message"]["entities"][0]["type"], "bot_command");
  ASSERT_TRUE(waitUntil([&] { return stats()["delivered"] == 1; }));
  EXPECT_EQ(stats()["pending"], 0);
  EXPECT_EQ(stats()["secret_set"], true);
  EXPECT_EQ(stats()["last_status"], 200);
}

TEST_F(WebhookTest, RetriesFailuresInOrderPerChat) {
  receiver.script({{500, -1, ""}});
  ASSERT_EQ(fake.api("setWebhook", {{"url", receiver.url()}}).status, 200);
  int64_t first = fake.userSays(42, "one")["update_id"];
  int64_t second = fake.userSays(42, "two")["update_id"];
  ASSERT_TRUE(receiver.waitForRequests(3, std::chrono::seconds(10)));
  auto requests = receiver.requests();
  EXPECT_EQ(updateIdOf(requests[0]), first);
  EXPECT_EQ(updateIdOf(requests[1]), first);  // retried before the next update of the chat
  EXPECT_EQ(updateIdOf(requests[2]), second);
  EXPECT_GE(requests[1].at - requests[0].at, std::chrono::milliseconds(900));  // 1 s backoff
  ASSERT_TRUE(waitUntil([&] { return stats()["delivered"] == 2; }));
  Json s = stats();
  EXPECT_EQ(s["failed"], 1);
  EXPECT_EQ(s["attempts"][0]["status"], 500);
  auto info = fake.api("getWebhookInfo").json()["result"];
  EXPECT_TRUE(info.contains("last_error_date"));
  EXPECT_EQ(info["last_error_message"], "Wrong response from the webhook: 500");
}

TEST_F(WebhookTest, HonoursRetryAfterHeader) {
  receiver.script({{429, 2, ""}});
  ASSERT_EQ(fake.api("setWebhook", {{"url", receiver.url()}}).status, 200);
  fake.userSays(42, "slow down");
  ASSERT_TRUE(receiver.waitForRequests(2, std::chrono::seconds(10)));
  auto requests = receiver.requests();
  EXPECT_GE(requests[1].at - requests[0].at, std::chrono::milliseconds(1900));
}

TEST_F(WebhookTest, ExecutesMethodReturnedInWebhookResponse) {
  fake.userSays(42, "hello");  // chat 42 becomes known; queued for getUpdates
  fake.api("getUpdates", {{"offset", -1}});
  receiver.script(
      {{200, -1,
        Json{{"method", "sendMessage"}, {"chat_id", 42}, {"text", "inline reply"}}.dump()}});
  ASSERT_EQ(
      fake.api("setWebhook", {{"url", receiver.url()}, {"drop_pending_updates", true}}).status,
      200);
  fake.userSays(42, "hi");
  ASSERT_TRUE(waitUntil([&] {
    auto msgs =
        fake.controlGet(std::string("chats/42/messages?token=") + kToken).json()["messages"];
    return msgs.size() == 1 && msgs[0]["text"] == "inline reply";
  }));
}

}  // namespace
}  // namespace botfn::fake_telegram::testing
