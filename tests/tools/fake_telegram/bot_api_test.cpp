// Black-box tests of the fake's Bot API surface: auth and routing errors, sendMessage/edit/delete
// validation with Telegram's exact texts, getUpdates with injected messages and button presses,
// request body formats.
#include <gtest/gtest.h>

#include <future>
#include <regex>

#include "test_support.hpp"

namespace botfn::fake_telegram::testing {
namespace {

const Json kKeyboard = {
    {"inline_keyboard",
     {{{{"text", "Yes"}, {"callback_data", "yes"}}, {{"text", "No"}, {"callback_data", "no"}}}}}};

class BotApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake.started()) << "fake-telegram did not start";
    ASSERT_EQ(fake.userSays(42, "hello")["ok"], true);  // makes chat 42 known
  }
  // A crash, sanitizer report or unclean shutdown of the server fails the test.
  void TearDown() override { EXPECT_EQ(fake.terminate(), 0) << fake.stderrText(); }
  void expectError(const HttpResponse& r, int code, const std::string& description) {
    EXPECT_EQ(r.status, code) << r.body;
    Json expected = {{"ok", false}, {"error_code", code}, {"description", description}};
    EXPECT_EQ(r.json(), expected) << r.body;
  }
  Json sendKeyboardMessage() {
    auto r =
        fake.api("sendMessage", {{"chat_id", 42}, {"text", "Pick"}, {"reply_markup", kKeyboard}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["result"];
  }
  FakeTelegram fake;
};

TEST_F(BotApiTest, UnknownTokenIsUnauthorized) {
  auto r = httpRequest("GET", fake.url("/bot999:nope/getMe"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"ok":false,"error_code":401,"description":"Unauthorized"})");
}

TEST_F(BotApiTest, UnknownMethodIsNotFoundAndNamesAreCaseInsensitive) {
  expectError(fake.api("frobnicate"), 404, "Not Found: method not found");
  auto r = httpRequest("GET", fake.url(std::string("/bot") + kToken + "/GETME"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["result"]["id"], 123456);
  EXPECT_EQ(r.json()["result"]["is_bot"], true);
  EXPECT_EQ(r.headers["connection"], "Keep-Alive");
}

TEST_F(BotApiTest, RegisteredBotAnswersGetMe) {
  auto reg = fake.controlPost(
      "bots", {{"token", "777:XYZ_abc"}, {"username", "demo_bot"}, {"first_name", "Demo"}});
  ASSERT_EQ(reg.status, 200) << reg.body;
  auto me = fake.api("getMe", Json::object(), "777:XYZ_abc").json()["result"];
  EXPECT_EQ(me["id"], 777);
  EXPECT_EQ(me["username"], "demo_bot");
  EXPECT_EQ(me["first_name"], "Demo");
  EXPECT_TRUE(me.contains("can_join_groups"));
  EXPECT_TRUE(me.contains("can_read_all_group_messages"));
  EXPECT_TRUE(me.contains("supports_inline_queries"));
}

TEST_F(BotApiTest, SendMessageErrorTexts) {
  expectError(fake.api("sendMessage", {{"chat_id", 42}, {"text", ""}}), 400,
              "Bad Request: message text is empty");
  expectError(fake.api("sendMessage", {{"chat_id", 42}}), 400,
              "Bad Request: message text is empty");
  expectError(fake.api("sendMessage", {{"chat_id", 42}, {"text", std::string(4097, 'a')}}), 400,
              "Bad Request: message is too long");
  expectError(fake.api("sendMessage", {{"chat_id", 999}, {"text", "hi"}}), 400,
              "Bad Request: chat not found");
  Json markup = {{"inline_keyboard", {{{{"text", "x"}, {"callback_data", std::string(65, 'd')}}}}}};
  expectError(fake.api("sendMessage", {{"chat_id", 42}, {"text", "hi"}, {"reply_markup", markup}}),
              400, "Bad Request: BUTTON_DATA_INVALID");
}

TEST_F(BotApiTest, LimitsCountCodePointsAndBytes) {
  std::string cyrillic;
  for (int i = 0; i < 4096; ++i) cyrillic += "ж";  // 8192 bytes, 4096 code points
  EXPECT_EQ(fake.api("sendMessage", {{"chat_id", 42}, {"text", cyrillic}}).status, 200);
  Json markup = {{"inline_keyboard", {{{{"text", "x"}, {"callback_data", std::string(64, 'd')}}}}}};
  EXPECT_EQ(
      fake.api("sendMessage", {{"chat_id", 42}, {"text", "ok"}, {"reply_markup", markup}}).status,
      200);
}

TEST_F(BotApiTest, SendMessageReturnsFullMessage) {
  Json m = sendKeyboardMessage();
  EXPECT_GT(m["message_id"].get<int64_t>(), 1);  // the user's message took id 1
  EXPECT_EQ(m["from"]["id"], 123456);
  EXPECT_EQ(m["from"]["is_bot"], true);
  EXPECT_EQ(m["chat"]["id"], 42);
  EXPECT_EQ(m["chat"]["type"], "private");
  EXPECT_TRUE(m["date"].is_number_integer());
  EXPECT_EQ(m["text"], "Pick");
  EXPECT_EQ(m["reply_markup"], kKeyboard);
  Json next = fake.api("sendMessage", {{"chat_id", 42}, {"text", "again"}}).json()["result"];
  EXPECT_EQ(next["message_id"], m["message_id"].get<int64_t>() + 1);
  EXPECT_FALSE(next.contains("reply_markup"));
}

TEST_F(BotApiTest, EditNotModifiedAndMissingMessages) {
  Json m = sendKeyboardMessage();
  int64_t id = m["message_id"];
  expectError(
      fake.api(
          "editMessageText",
          {{"chat_id", 42}, {"message_id", id}, {"text", "Pick"}, {"reply_markup", kKeyboard}}),
      400,
      "Bad Request: message is not modified: specified new message content and reply "
      "markup are exactly the same as a current content and reply markup of the message");
  expectError(fake.api("editMessageReplyMarkup",
                       {{"chat_id", 42}, {"message_id", id}, {"reply_markup", kKeyboard}}),
              400,
              "Bad Request: message is not modified: specified new message content and reply "
              "markup are exactly the same as a current content and reply markup of the message");
  auto edited =
      fake.api("editMessageText", {{"chat_id", 42}, {"message_id", id}, {"text", "Done"}});
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(edited.json()["result"]["text"], "Done");
  EXPECT_TRUE(edited.json()["result"].contains("edit_date"));
  EXPECT_FALSE(edited.json()["result"].contains("reply_markup"));  // omitted markup is removed
  expectError(fake.api("editMessageText", {{"chat_id", 42}, {"message_id", 9999}, {"text", "x"}}),
              400, "Bad Request: message to edit not found");
  EXPECT_EQ(fake.api("deleteMessage", {{"chat_id", 42}, {"message_id", id}}).json()["result"],
            true);
  expectError(fake.api("deleteMessage", {{"chat_id", 42}, {"message_id", id}}), 400,
              "Bad Request: message to delete not found");
}

TEST_F(BotApiTest, SendPhotoBuildsPhotoSizesAndChecksCaption) {
  auto r = fake.api("sendPhoto",
                    {{"chat_id", 42}, {"photo", "AgACAgIAAxkBAAIBQ2Zfile"}, {"caption", "nice"}});
  ASSERT_EQ(r.status, 200) << r.body;
  Json photo = r.json()["result"]["photo"];
  ASSERT_TRUE(photo.is_array());
  ASSERT_FALSE(photo.empty());
  EXPECT_TRUE(photo.back().contains("file_unique_id"));
  EXPECT_EQ(r.json()["result"]["caption"], "nice");
  expectError(
      fake.api("sendPhoto", {{"chat_id", 42}, {"photo", "x"}, {"caption", std::string(1025, 'c')}}),
      400, "Bad Request: message caption is too long");
}

TEST_F(BotApiTest, GetUpdatesReturnsInjectedCommandAndConfirmsByOffset) {
  auto first = fake.api("getUpdates").json()["result"];
  ASSERT_EQ(first.size(), 1u);  // "hello" from SetUp
  Json injected = fake.userSays(42, "/start@test_bot ref_1");
  int64_t updateId = injected["update_id"];
  EXPECT_EQ(updateId, first[0]["update_id"].get<int64_t>() + 1);

  auto updates = fake.api("getUpdates", {{"offset", updateId}}).json()["result"];
  ASSERT_EQ(updates.size(), 1u);
  Json message = updates[0]["message"];
  EXPECT_EQ(updates[0]["update_id"], updateId);
  EXPECT_EQ(message["message_id"], injected["message_id"]);
  EXPECT_EQ(message["from"]["id"], 42);
  EXPECT_EQ(message["from"]["is_bot"], false);
  EXPECT_EQ(message["from"]["language_code"], "en");
  EXPECT_EQ(message["chat"]["type"], "private");
  Json entity = {{"offset", 0}, {"length", 15}, {"type", "bot_command"}};
  EXPECT_EQ(message["entities"], Json::array({entity}));

  auto after = fake.api("getUpdates", {{"offset", updateId + 1}}).json()["result"];
  EXPECT_TRUE(after.empty());
}

TEST_F(BotApiTest, LongPollWakesUpWhenAMessageArrives) {
  fake.api("getUpdates", {{"offset", -1}});
  int64_t next = fake.api("getUpdates").json()["result"][0]["update_id"].get<int64_t>() + 1;
  auto started = std::chrono::steady_clock::now();
  auto poll = std::async(std::launch::async, [&] {
    return fake.api("getUpdates", {{"offset", next}, {"timeout", 20}});
  });
  ASSERT_TRUE(waitUntil([&] {
    return fake.controlGet(std::string("webhook?token=") + kToken).json()["get_updates_waiting"] ==
           true;
  }));
  fake.userSays(42, "ping");
  auto r = poll.get();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  ASSERT_EQ(r.json()["result"].size(), 1u) << r.body;
  EXPECT_EQ(r.json()["result"][0]["message"]["text"], "ping");
}

TEST_F(BotApiTest, SecondGetUpdatesTerminatesTheFirst) {
  fake.api("getUpdates", {{"offset", -1}});
  int64_t next = fake.api("getUpdates").json()["result"][0]["update_id"].get<int64_t>() + 1;
  auto older = std::async(std::launch::async, [&] {
    return fake.api("getUpdates", {{"offset", next}, {"timeout", 20}});
  });
  ASSERT_TRUE(waitUntil([&] {
    return fake.controlGet(std::string("webhook?token=") + kToken).json()["get_updates_waiting"] ==
           true;
  }));
  auto newer = std::async(std::launch::async, [&] {
    return fake.api("getUpdates", {{"offset", next}, {"timeout", 1}});
  });
  expectError(older.get(), 409,
              "Conflict: terminated by other getUpdates request; make sure that only one bot "
              "instance is running");
  auto r = newer.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["result"], Json::array());
}

TEST_F(BotApiTest, PressProducesCallbackQueryWithStringIds) {
  Json m = sendKeyboardMessage();
  fake.api("getUpdates", {{"offset", -1}});
  auto press = fake.controlPost(
      "press",
      {{"token", kToken}, {"user_id", 42}, {"message_id", m["message_id"]}, {"data", "no"}});
  ASSERT_EQ(press.status, 200) << press.body;
  std::string queryId = press.json()["callback_query_id"];
  int64_t updateId = press.json()["update_id"];

  auto updates = fake.api("getUpdates", {{"offset", updateId}}).json()["result"];
  ASSERT_EQ(updates.size(), 1u);
  Json query = updates[0]["callback_query"];
  ASSERT_TRUE(query["id"].is_string());
  EXPECT_EQ(query["id"], queryId);
  EXPECT_TRUE(std::regex_match(queryId, std::regex("^[1-9][0-9]{15,18}$"))) << queryId;
  ASSERT_TRUE(query["chat_instance"].is_string());
  EXPECT_TRUE(
      std::regex_match(query["chat_instance"].get<std::string>(), std::regex("^-?[0-9]+$")));
  EXPECT_EQ(query["data"], "no");
  EXPECT_EQ(query["from"]["id"], 42);
  EXPECT_EQ(query["message"]["message_id"], m["message_id"]);
  EXPECT_EQ(query["message"]["reply_markup"], kKeyboard);

  EXPECT_EQ(
      fake.api("answerCallbackQuery", {{"callback_query_id", queryId}, {"text", "ok"}}).status,
      200);
  expectError(fake.api("answerCallbackQuery", {{"callback_query_id", queryId}}), 400,
              "Bad Request: query is too old and response timeout expired or query ID is invalid");
  auto bad = fake.controlPost(
      "press",
      {{"token", kToken}, {"user_id", 42}, {"message_id", m["message_id"]}, {"data", "maybe"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json(), (Json{{"ok", false}, {"description", "no such button"}}));
}

TEST_F(BotApiTest, AcceptsJsonFormAndQueryParameters) {
  std::string base = fake.url(std::string("/bot") + kToken + "/sendMessage");
  std::string markup = kKeyboard.dump();
  auto form = httpRequest(
      "POST", base,
      "chat_id=42&text=" + urlEncode("form + text") + "&reply_markup=" + urlEncode(markup),
      "application/x-www-form-urlencoded");
  ASSERT_EQ(form.status, 200) << form.body;
  EXPECT_EQ(form.json()["result"]["text"], "form + text");
  EXPECT_EQ(form.json()["result"]["reply_markup"], kKeyboard);

  auto json = httpRequest(
      "POST", base, Json{{"chat_id", "42"}, {"text", "json"}, {"reply_markup", markup}}.dump(),
      "application/json");
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_EQ(json.json()["result"]["reply_markup"], kKeyboard);  // JSON string is parsed too

  auto query = httpRequest("GET", base + "?chat_id=42&text=" + urlEncode("q&a=1"));
  ASSERT_EQ(query.status, 200) << query.body;
  EXPECT_EQ(query.json()["result"]["text"], "q&a=1");

  auto broken = httpRequest("POST", base, "{not json", "application/json");
  EXPECT_EQ(broken.status, 400);
}

TEST_F(BotApiTest, AcceptsTwoMegabyteBodies) {
  std::string big(2 * 1024 * 1024 - 200, 'x');
  auto r = fake.api("sendMessage", {{"chat_id", 42}, {"text", big}});
  expectError(r, 400, "Bad Request: message is too long");
}

TEST_F(BotApiTest, ParseModeProducesEntitiesOrTelegramErrors) {
  auto ok = fake.api("sendMessage",
                     {{"chat_id", 42}, {"text", "*bold* and \\."}, {"parse_mode", "MarkdownV2"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["result"]["text"], "bold and .");
  EXPECT_EQ(ok.json()["result"]["entities"],
            Json::array({{{"offset", 0}, {"length", 4}, {"type", "bold"}}}));
  expectError(
      fake.api("sendMessage", {{"chat_id", 42}, {"text", "end."}, {"parse_mode", "MarkdownV2"}}),
      400,
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
      "with the preceding '\\'");
}

}  // namespace
}  // namespace botfn::fake_telegram::testing
