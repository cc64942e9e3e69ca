// The worker's reading of an update: simdjson, with nlohmann deciding what simdjson refuses.
#include "telegram/update_document.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "telegram/update.hpp"

namespace botfn::telegram {
namespace {

TEST(UpdateDocumentTest, IntegersBeyond64BitsReadAsDoubles) {
  auto doc = UpdateDocument::parse(
      R"({"update_id":7,"message":{"message_id":1,"chat":{"id":5,"type":"private"},"text":"hi",)"
      R"("big":123456789012345678901234567890}})");
  ASSERT_TRUE(doc);
  auto big = fieldOf(*fieldOf((*doc)->root(), "message"), "big");
  ASSERT_TRUE(big);
  ASSERT_TRUE(big->is_double());
  EXPECT_DOUBLE_EQ(big->get_double().value_unsafe(), 1.2345678901234568e29);
  auto u = parseUpdate(**doc, "");
  EXPECT_EQ(u.update_id, 7);
  EXPECT_EQ(u.kind, "message");
  EXPECT_EQ(u.text, "hi");
  EXPECT_EQ(u.lane, "c5");
}

TEST(UpdateDocumentTest, Errors) {
  EXPECT_EQ(UpdateDocument::parse("{\"update_id\":").error().code, ErrorCode::BadJson);
  EXPECT_EQ(UpdateDocument::parse("").error().code, ErrorCode::BadJson);
  const std::string hundred_thousand = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(UpdateDocument::parse(hundred_thousand).error().code, ErrorCode::TooDeep);
  EXPECT_TRUE(UpdateDocument::parse(std::string(64, '[') + std::string(64, ']')));
  EXPECT_EQ(UpdateDocument::parse(std::string(65, '[') + std::string(65, ']')).error().code,
            ErrorCode::TooDeep);
  EXPECT_EQ(UpdateDocument::parse("{\"a\":\"\xff\"}").error().code, ErrorCode::BadJson);
  const std::string deep =
      "{\"update_id\":1,\"x\":" + std::string(70, '[') + std::string(70, ']') + "}";
  EXPECT_EQ(UpdateDocument::parse(deep).error().code, ErrorCode::TooDeep);
}

TEST(UpdateDocumentTest, DocumentsOutliveTheNextParseOnTheSameThread) {
  // A run suspended in http.request keeps its document while the worker parses others.
  auto first = UpdateDocument::parse(R"({"update_id":1,"message":{"text":"first"}})");
  std::string big = R"({"update_id":2,"message":{"text":")" + std::string(300 << 10, 'x') + "\"}}";
  auto second = UpdateDocument::parse(big);
  auto third = UpdateDocument::parse(R"({"update_id":3,"message":{"text":"third"}})");
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(parseUpdate(**first, "").text, "first");
  EXPECT_EQ(parseUpdate(**second, "").text.size(), 300u << 10);
  EXPECT_EQ(parseUpdate(**third, "").text, "third");
}

TEST(UpdateDocumentTest, DuplicateKeysAndTheKindReadAsTheWebhookReadsThem) {
  auto doc = UpdateDocument::parse(
      R"({"update_id":1,"message":{"chat":{"id":1},"chat":{"id":2},"text":"a","text":"b"},)"
      R"("callback_query":{"id":"x"}})");
  ASSERT_TRUE(doc);
  auto u = parseUpdate(**doc, "");
  EXPECT_EQ(u.kind, "message");  // the first payload key in the text
  EXPECT_EQ(u.chat_id, 2);
  EXPECT_EQ(u.text, "b");
  EXPECT_EQ(
      parseUpdate(**UpdateDocument::parse(R"({"update_id":18446744073709551615})"), "").update_id,
      INT64_MAX);
}

TEST(UpdateDocumentTest, WrongTypesReadAsAbsent) {
  auto doc = UpdateDocument::parse(
      R"({"update_id":1,"message":{"message_id":"1","chat":{"id":"5"},"from":7,"text":5,)"
      R"("entities":[1,{"type":5},{"type":"bot_command","offset":"0"}]}})");
  ASSERT_TRUE(doc);
  auto u = parseUpdate(**doc, "");
  EXPECT_FALSE(u.message_id);
  EXPECT_FALSE(u.chat_id);
  EXPECT_FALSE(u.user_id);
  EXPECT_EQ(u.message_kind, "text");
  EXPECT_EQ(u.text, "5");  // numbers read as their text, as before
  EXPECT_EQ(u.lane, "bot");
}

}  // namespace
}  // namespace botfn::telegram
