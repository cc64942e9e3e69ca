// The webhook's one-pass envelope parser: the same kind and lane as the full parser on every
// captured update, and the same errors as the guarded DOM parse; the worker's reader
// (UpdateDocument + parseUpdate) reads every accepted body with the same kind and lane.
#include "telegram/update_envelope.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "telegram/update.hpp"
#include "telegram/update_document.hpp"

namespace botfn::telegram {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(BOTFN_TEST_DATA_DIR) +
                                                           "/telegram-updates")) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(ss.str());
  }
  return out;
}

// Both readers must give the same answer: the same error, or the same envelope.
void expectSameReading(const std::string& body) {
  const auto fast = parseEnvelope(body);
  const auto reference = parseEnvelopeReference(body);
  ASSERT_EQ(fast.has_value(), reference.has_value()) << body;
  if (!fast) {
    EXPECT_EQ(fast.error().code, reference.error().code) << body;
    return;
  }
  EXPECT_EQ(fast->update_id, reference->update_id) << body;
  EXPECT_EQ(fast->kind, reference->kind) << body;
  // The worker reads every body the webhook accepted, with the same id and kind. (Lanes agree
  // on real updates, checked on the corpus; with duplicate keys the worker reads the last
  // object, as a DOM does, while the webhook takes the last integer id it meets.)
  const auto doc = UpdateDocument::parse(body);
  ASSERT_TRUE(doc) << body << " " << doc.error().describe();
  const auto full = parseUpdate(**doc, "");
  EXPECT_EQ(full.update_id, fast->update_id) << body;
  EXPECT_EQ(full.kind, fast->kind) << body;
  EXPECT_EQ(fast->chat_id, reference->chat_id) << body;
  EXPECT_EQ(fast->user_id, reference->user_id) << body;
  EXPECT_EQ(fast->lane, reference->lane) << body;
}

TEST(UpdateEnvelopeTest, AgreesWithTheFullParserOnTheCorpus) {
  int files = 0;
  for (const auto& body : corpus()) {
    const auto env = parseEnvelope(body);
    ASSERT_TRUE(env) << body << " " << env.error().describe();
    const auto full = parseUpdate(**UpdateDocument::parse(body), "");
    EXPECT_EQ(env->update_id, full.update_id) << body;
    EXPECT_EQ(env->kind, full.kind) << body;
    EXPECT_EQ(env->lane, full.lane) << body;
    expectSameReading(body);
    ++files;
  }
  EXPECT_EQ(files, 66);
}

TEST(UpdateEnvelopeTest, FastAndReferenceReadersAgreeOnHostileBodies) {
  const std::vector<std::string> bodies = {
      "",
      "  ",
      "{}",
      "[]",
      "null",
      "7",
      "\"x\"",
      "{\"update_id\":1}",
      "\xEF\xBB\xBF{\"update_id\":1}",          // BOM
      "{\"update_id\":1,\"update_id\":2}",      // duplicate: the last wins
      "{\"update_id\":1,\"update_id\":\"2\"}",  // one wrong-typed duplicate
      "{\"update_id\":-0}",
      "{\"update_id\":01}",
      "{\"update_id\":1e3}",
      "{\"update_id\":9223372036854775807}",
      "{\"update_id\":9223372036854775808}",
      "{\"update_id\":18446744073709551616}",  // beyond 64 bits: legal JSON
      "{\"update_id\":1,\"x\":123456789012345678901234567890}",
      "{\"update_id\":1,\"x\":1e400}",
      "{\"update_id\":1,\"x\":-1e-400}",
      "{\"update_id\":1,\"x\":\"\xff\"}",
      "{\"update_id\":1,\"x\":\"\\ud800\"}",
      "{\"update_id\":1,\"x\":\"\\ud83d\\ude00\"}",
      "{\"update_id\":1,\"x\":\"\\u0000\"}",
      "{\"update_id\":1,\"x\":\"tab\there\"}",
      "{\"update_id\":1,\"\":{\"chat\":{\"id\":4}}}",
      "{\"update_id\":1,\"message\":[{\"chat\":{\"id\":4}}]}",
      "{\"update_id\":1,\"message\":{\"chat\":[4]}}",
      "{\"update_id\":1,\"message\":{\"chat\":{\"id\":{\"id\":4}}}}",
      "{\"update_id\":1,\"message\":{\"chat\":{\"id\":4,\"id\":5}},\"message\":{\"from\":{\"id\":6}"
      "}}",
      "{\"update_id\":1,\"message\":{\"chat\":{\"id\":18446744073709551615}}}",
      "{\"update_id\":1,\"callback_query\":{\"chat\":{\"id\":4},\"message\":{\"chat\":{\"id\":7}}}"
      "}",
      "{\"update_id\":1,\"poll_answer\":{\"voter_chat\":{\"id\":-100}}}",
      "{\"update_id\":1,\"poll_answer\":{\"voter_chat\":{\"id\":-100},\"user\":{\"id\":8}}}",
      "{\"update_id\":1,\"x\":{\"user\":{\"id\":3},\"from\":{\"id\":4},\"voter_chat\":{\"id\":5}}}",
      "{\"update_id\":1,\"chat_member\":{\"chat\":{\"id\":-1},\"from\":{\"id\":2}}}",
      "{\"update_id\":1} x",
      "{\"update_id\":1}  \n",
      "{\"update_id\":1,}",
      "{'update_id':1}",
      "{\"update_id\":1,\"x\":" + std::string(63, '[') + std::string(63, ']') + "}",
      "{\"update_id\":1,\"x\":" + std::string(64, '[') + std::string(64, ']') + "}",
      std::string(100000, '[') + std::string(100000, ']'),
  };
  for (const auto& body : bodies) expectSameReading(body);
}

// Random byte flips, insertions and truncations of real updates: whatever the readers make of
// the result, they make the same of it.
TEST(UpdateEnvelopeTest, FastAndReferenceReadersAgreeOnMutatedUpdates) {
  const auto samples = corpus();
  std::mt19937 rng(20261123);
  const std::string alphabet = "{}[]:,\"\\0123456789-+.eE tfnu\x01\x7f\xc3\xa9\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string body = samples[rng() % samples.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !body.empty(); ++k) {
      const size_t at = rng() % body.size();
      switch (rng() % 4) {
        case 0:
          body[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          body.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 2:
          body.erase(at, 1);
          break;
        case 3:
          body.resize(at);
          break;
      }
    }
    expectSameReading(body);
    if (HasFatalFailure()) return;
  }
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
  const std::string deep_obj =
      "{\"update_id\":1,\"x\":" + std::string(70, '[') + std::string(70, ']') + "}";
  EXPECT_EQ(parseEnvelope(deep_obj).error().code, ErrorCode::TooDeep);
}

TEST(UpdateEnvelopeTest, KindAndLane) {
  auto e = parseEnvelope(
      R"({"update_id":9,"callback_query":{"id":"1","from":{"id":5},"message":{"message_id":3,"chat":{"id":-100123},"from":{"id":777}}}})");
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
