// Reading the Bot API's answers: Telegram's shapes, what a proxy or a broken server may send
// instead, and agreement between the simdjson path (ok answers up to 64 KiB) and the reference one.
#include <gtest/gtest.h>

#include "telegram/bot_api.hpp"

namespace botfn::telegram {
namespace {

ApiResponse answer(int status, std::string body, net::Headers headers = {}) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return classifyApiResponse(Result<net::HttpResponse>(std::move(r)));
}

TEST(BotApiResponseTest, ASentMessageGivesItsIdAndTheResult) {
  auto r = answer(200, R"({"ok":true,"result":{"message_id":4711,"date":1700000000,)"
                       R"("chat":{"id":-1001234567890,"type":"supergroup"},"text":"hi"}})");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::Ok);
  EXPECT_EQ(r.message_id, 4711);
  EXPECT_EQ(r.result()["text"], "hi");
  EXPECT_EQ(r.result()["chat"]["id"].get<int64_t>(), -1001234567890);
}

TEST(BotApiResponseTest, AResultThatIsNoMessageHasNoMessageId) {
  auto r = answer(200, R"({"ok":true,"result":true})");
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.message_id);
  EXPECT_EQ(r.result(), true);
  auto absent = answer(200, R"({"ok":true})");
  EXPECT_TRUE(absent.ok);
  EXPECT_TRUE(absent.result().is_null());
}

TEST(BotApiResponseTest, BigAnswersTakeTheReferenceReaderAndReadTheSame) {
  std::string updates = R"({"ok":true,"result":[)";
  for (int i = 0; i < 2000; ++i) {
    updates +=
        (i ? "," : "") + std::string(R"({"update_id":)") + std::to_string(i) +
        R"(,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":"x"}})";
  }
  updates += "]}";
  ASSERT_GT(updates.size(), 64u << 10);
  auto r = answer(200, updates);
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.message_id);
  EXPECT_EQ(r.result().size(), 2000u);
  auto big_message = answer(
      200, R"({"ok":true,"result":{"message_id":9,"text":")" + std::string(70000, 'a') + "\"}}");
  EXPECT_TRUE(big_message.ok);
  EXPECT_EQ(big_message.message_id, 9);
}

TEST(BotApiResponseTest, DuplicateKeysReadAsTheLastOneOnBothPaths) {
  EXPECT_TRUE(answer(200, R"({"ok":false,"ok":true,"result":{"message_id":1,"message_id":2}})").ok);
  EXPECT_EQ(answer(200, R"({"ok":true,"result":{"message_id":1,"message_id":2}})").message_id, 2);
  auto r = answer(400, R"({"ok":true,"ok":false,"error_code":400,"description":"Bad Request: x"})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::TelegramRejected);
}

TEST(BotApiResponseTest, IntegersBeyond64BitsAreNoMessageId) {
  auto beyond_u64 =
      answer(200, R"({"ok":true,"result":{"message_id":123456789012345678901234567890}})");
  EXPECT_TRUE(beyond_u64.ok);
  EXPECT_FALSE(beyond_u64.message_id);
  auto beyond_i64 = answer(200, R"({"ok":true,"result":{"message_id":18446744073709551615}})");
  EXPECT_TRUE(beyond_i64.ok);
  EXPECT_FALSE(beyond_i64.message_id);
  EXPECT_FALSE(answer(200, R"({"ok":true,"result":{"message_id":"12"}})").message_id);
}

TEST(BotApiResponseTest, RateLimitReadsRetryAfterFromTheBodyOrTheHeader) {
  auto r = answer(
      429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5",)"
           R"("parameters":{"retry_after":5}})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::TelegramRateLimited);
  EXPECT_EQ(r.retry_after, 5);
  auto header_only =
      answer(429, R"({"ok":false,"error_code":429,"description":"Too Many Requests"})",
             {{"retry-after", "7"}});
  EXPECT_EQ(header_only.retry_after, 7);
}

TEST(BotApiResponseTest, ErrorClasses) {
  EXPECT_EQ(answer(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})").code,
            ErrorCode::TelegramUnauthorized);
  EXPECT_EQ(
      answer(
          403,
          R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"})")
          .code,
      ErrorCode::TelegramForbidden);
  EXPECT_EQ(answer(409, R"({"ok":false,"error_code":409,"description":"Conflict"})").code,
            ErrorCode::TelegramConflict);
  EXPECT_EQ(answer(502, "<html>Bad Gateway</html>").code, ErrorCode::TelegramServer);
  EXPECT_EQ(answer(200, "[]").code, ErrorCode::TelegramRejected);
  auto migrated = answer(
      400,
      R"({"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat",)"
      R"("parameters":{"migrate_to_chat_id":-1001987654321}})");
  EXPECT_EQ(migrated.migrate_to_chat_id, -1001987654321);
  auto unchanged = answer(
      400, R"({"ok":false,"error_code":400,"description":"Bad Request: message is not modified: )"
           R"(specified new message content and reply markup are exactly the same"})");
  EXPECT_TRUE(unchanged.notModified());
  auto transport = classifyApiResponse(
      Result<net::HttpResponse>(tl::unexpected(Error{ErrorCode::HttpTimeout, "timed out"})));
  EXPECT_EQ(transport.code, ErrorCode::HttpTimeout);
  EXPECT_FALSE(transport.ok);
}

TEST(BotApiResponseTest, WrongTypesReadAsAbsentInsteadOfThrowing) {
  EXPECT_FALSE(answer(200, R"({"ok":"yes","result":{"message_id":1}})").ok);
  auto r = answer(
      400,
      R"({"ok":false,"error_code":"400","description":5,"parameters":{"retry_after":"3","migrate_to_chat_id":[1]}})",
      {{"retry-after", "soon"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_code, 400);  // the HTTP status
  EXPECT_EQ(r.description, "");
  EXPECT_EQ(r.retry_after, 0);
  EXPECT_FALSE(r.migrate_to_chat_id);
  auto huge =
      answer(429, R"({"ok":false,"error_code":429,"parameters":{"retry_after":99999999999}})");
  EXPECT_EQ(huge.retry_after, INT32_MAX);
  EXPECT_EQ(answer(200, R"({"ok":true,"result":[1,2)").code, ErrorCode::TelegramRejected);
}

}  // namespace
}  // namespace botfn::telegram
