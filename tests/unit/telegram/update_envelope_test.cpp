// The webhook's one-pass envelope parser: the same kind and lane as the full parser on every
// captured update, and the same errors as the guarded DOM parse.
#include "telegram/update_envelope.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "telegram/update.hpp"

namespace botfn::telegram {
namespace {

TEST(UpdateEnvelopeTest, AgreesWithTheFullParserOnTheCorpus) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(BOTFN_SHARED_DIR) + "/telegram-updates")) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    const auto env = parseEnvelope(ss.str());
    ASSERT_TRUE(env) << e.path() << " " << env.error().describe();
    const auto full = parseUpdate(nlohmann::json::parse(ss.str()), "");
    EXPECT_EQ(env->update_id, full.update_id) << e.path();
    EXPECT_EQ(env->kind, full.kind) << e.path();
    EXPECT_EQ(env->lane, full.lane) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 66);
}

TEST(UpdateEnvelopeTest, Errors) {
  EXPECT_EQ(parseEnvelope("{\"update_id\":").error().code, ErrorCode::BadJson);
  EXPECT_EQ(parseEnvelope("{\"update_id\":1} x").error().code, ErrorCode::BadJson);
  EXPECT_EQ(parseEnvelope("[1]").error().code, ErrorCode::NotAnObject);
  EXPECT_EQ(parseEnvelope("7").error().code, ErrorCode::NotAnObject);
  EXPECT_EQ(parseEnvelope("{\"message\":{}}").error().code, ErrorCode::MissingUpdateId);
  EXPECT_EQ(parseEnvelope("{\"update_id\":\"5\"}").error().code, ErrorCode::MissingUpdateId);
  EXPECT_EQ(parseEnvelope("{\"update_id\":1.5}").error().code, ErrorCode::MissingUpdateId);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(parseEnvelope(deep).error().code, ErrorCode::TooDeep);
  const std::string deep_obj = "{\"update_id\":1,\"x\":" + std::string(70, '[') + std::string(70, ']') + "}";
  EXPECT_EQ(parseEnvelope(deep_obj).error().code, ErrorCode::TooDeep);
}

TEST(UpdateEnvelopeTest, KindAndLane) {
  auto e = parseEnvelope(R"({"update_id":9,"callback_query":{"id":"1","from":{"id":5},"message":{"message_id":3,"chat":{"id":-100123},"from":{"id":777}}}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, "callback_query");
  EXPECT_EQ(e->lane, "c-100123");
  EXPECT_EQ(*e->user_id, 5);
  auto empty = parseEnvelope(R"({"update_id":3})");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->kind, "");
  EXPECT_EQ(empty->lane, "bot");
}

}  // namespace
}  // namespace botfn::telegram
