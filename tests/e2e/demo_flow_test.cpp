// The demo app end to end with the fake Bot API: registration (token → profile → menu), menu
// buttons editing the menu message, a returning user — through the webhook and through polling.
#include <gtest/gtest.h>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

std::string textAt(Stack& s, int64_t chat, size_t i) {
  auto m = s.messages(chat);
  return i < m.size() ? m[i].value("text", "") : "";
}

bool waitText(Stack& s, int64_t chat, size_t i, const std::string& needle) {
  return waitUntil([&] { return textAt(s, chat, i).find(needle) != std::string::npos; },
                   seconds(15));
}

void runRegistration(Stack& s, int64_t user) {
  s.say(user, "/start");
  ASSERT_TRUE(waitText(s, user, 1, "Send me your Wappi API token"))
      << s.messages(user).dump() << s.logs();
  EXPECT_NE(textAt(s, user, 0).find("Hi, User" + std::to_string(user)), std::string::npos);
  s.say(user, "short");
  ASSERT_TRUE(waitText(s, user, 2, "doesn't look like a token"));
  s.say(user, "tok_1234567890");
  ASSERT_TRUE(waitText(s, user, 3, "Now send your Wappi profile id"));
  s.say(user, "profile-1");
  ASSERT_TRUE(waitText(s, user, 5, "Main menu"));
  EXPECT_NE(textAt(s, user, 4).find("Profile profile-1 is connected"), std::string::npos);
  auto menu = s.messages(user)[5];
  ASSERT_EQ(menu["reply_markup"]["inline_keyboard"].size(), 2u);
  const int64_t menu_id = menu["message_id"];

  auto pressed = s.press(user, menu_id, "menu:mailing");
  ASSERT_TRUE(pressed.value("ok", false)) << pressed.dump();
  ASSERT_TRUE(waitText(s, user, 5, "Mailing data:"));  // the menu message was edited in place
  EXPECT_EQ(s.messages(user).size(), 6u);
  s.press(user, menu_id, "menu:back");
  ASSERT_TRUE(waitText(s, user, 5, "Main menu"));
  EXPECT_TRUE(waitUntil([&] { return s.calls("answerCallbackQuery").size() >= 2; }, seconds(10)));

  s.say(user, "/start");
  ASSERT_TRUE(waitText(s, user, 7, "Main menu"));
  EXPECT_NE(textAt(s, user, 6).find("Welcome back"), std::string::npos);
  EXPECT_EQ(s.sql("SELECT profile_id FROM users WHERE user_id = " + std::to_string(user)),
            "profile-1");
  EXPECT_EQ(s.sql("SELECT count(*) FROM dead_letters"), "0");
}

TEST(DemoFlowTest, RegistrationAndMenuThroughWebhook) {
  Stack s;
  runRegistration(s, 1001);
  EXPECT_GE(s.metric("botfn_ingress_requests_total{bot=\"demo\",status=\"200\"}"), 6);
}

TEST(DemoFlowTest, RegistrationAndMenuThroughPolling) {
  StackOptions o;
  o.polling = true;
  Stack s(o);
  runRegistration(s, 2002);
  EXPECT_GE(s.metric("botfn_poll_updates_total{bot=\"demo\"}"), 6);
}

TEST(DemoFlowTest, APolledUpdateNestedTooDeepIsSkippedAndPollingGoesOn) {
  // Legal JSON from getUpdates that the webhook would refuse (400): polling has no one to refuse
  // it to, so it is stored, marked processed as unroutable, and the next updates still run.
  // 2000 levels: deeper than simdjson's own limit too.
  StackOptions o;
  o.polling = true;
  Stack s(o);
  const std::string deep =
      "{\"message\":{\"message_id\":1,\"date\":1,\"chat\":{\"id\":5005,\"type\":\"private\"},"
      "\"text\":\"x\",\"extra\":" +
      std::string(2000, '[') + std::string(2000, ']') + "}}";
  auto injected = s.control("POST", "/control/update", {{"token", s.token()}, {"update", deep}});
  ASSERT_TRUE(injected.value("ok", false)) << injected.dump();
  ASSERT_TRUE(s.waitMetric("botfn_updates_total{bot=\"demo\",outcome=\"unroutable\"}", 1));
  s.say(5006, "/help");
  ASSERT_TRUE(waitText(s, 5006, 0, "/menu"));
}

TEST(DemoFlowTest, RussianUserGetsRussianTexts) {
  Stack s;
  s.say(3003, "/start", "ru");
  ASSERT_TRUE(waitText(s, 3003, 1, "Пришлите ваш API-токен Wappi"));
}

TEST(DemoFlowTest, HelpAndFallback) {
  Stack s;
  s.say(4004, "/help");
  ASSERT_TRUE(waitText(s, 4004, 0, "/menu"));
  s.say(4004, "what?");
  ASSERT_TRUE(waitText(s, 4004, 1, "I didn't get that"));
}

}  // namespace
}  // namespace botfn::e2e
