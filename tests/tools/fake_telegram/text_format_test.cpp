// Unit tests of the fake's pure helpers: UTF-8/UTF-16 counting, parse_mode parsing and
// request parameter merging.
#include "text_format.hpp"

#include <gtest/gtest.h>

#include "request_params.hpp"
#include "text_utils.hpp"
#include "update_builder.hpp"

namespace botfn::fake_telegram {
namespace {

TEST(TextUtils, CountsCodePointsAndUtf16Units) {
  EXPECT_EQ(codePointCount("abc"), 3u);
  EXPECT_EQ(codePointCount("жж"), 2u);
  EXPECT_EQ(utf16Length("😀"), 2u);
  EXPECT_EQ(codePointCount("😀"), 1u);
  EXPECT_EQ(urlDecode("a%2Bb+c%zz"), "a+b c%zz");
}

TEST(UpdateBuilder, CommandEntityUsesUtf16Length) {
  EXPECT_EQ(commandEntities("/start x")[0]["length"], 6);
  EXPECT_EQ(commandEntities("/cmd@bot")[0]["length"], 8);
  EXPECT_EQ(commandEntities("/ж")[0]["length"], 2);
  EXPECT_TRUE(commandEntities("hi /start").empty());
  EXPECT_TRUE(commandEntities("/").empty());
}

TEST(TextFormat, MarkdownV2EntitiesUseUtf16Offsets) {
  FormattedText out;
  std::string error;
  ASSERT_TRUE(parseFormattedText("😀 *b _i_* `c\\`` [l](http://x.y/\\))", "MarkdownV2", out, error))
      << error;
  EXPECT_EQ(out.text, "😀 b i c` l");
  Json expected = Json::parse(R"json([
    {"offset":3,"length":3,"type":"bold"},
    {"offset":5,"length":1,"type":"italic"},
    {"offset":7,"length":2,"type":"code"},
    {"offset":10,"length":1,"type":"text_link","url":"http://x.y/)"}])json");
  EXPECT_EQ(out.entities, expected);
}

TEST(TextFormat, MarkdownV2Errors) {
  FormattedText out;
  std::string error;
  EXPECT_FALSE(parseFormattedText("a-b", "MarkdownV2", out, error));
  EXPECT_EQ(error,
            "Bad Request: can't parse entities: Character '-' is reserved and must be escaped with "
            "the preceding '\\'");
  EXPECT_FALSE(parseFormattedText("*open", "MarkdownV2", out, error));
  EXPECT_EQ(error,
            "Bad Request: can't parse entities: Can't find end of the entity starting at "
            "byte offset 0");
}

TEST(TextFormat, HtmlTagsAndEntities) {
  FormattedText out;
  std::string error;
  ASSERT_TRUE(
      parseFormattedText("<b>a &amp; b</b> <a href=\"http://e.x\">e</a> &lt;3", "HTML", out, error))
      << error;
  EXPECT_EQ(out.text, "a & b e <3");
  EXPECT_EQ(out.entities[0]["type"], "bold");
  EXPECT_EQ(out.entities[0]["length"], 5);
  EXPECT_EQ(out.entities[1]["url"], "http://e.x");
  EXPECT_FALSE(parseFormattedText("<b>x</i>", "HTML", out, error));
  EXPECT_FALSE(parseFormattedText("<blink>x</blink>", "HTML", out, error));
  EXPECT_EQ(error,
            "Bad Request: can't parse entities: Unsupported start tag \"blink\" at byte "
            "offset 0");
}

TEST(RequestParams, MergesQueryAndBodiesAndParsesJsonFields) {
  auto form = parseRequestParams("a=1", "application/x-www-form-urlencoded",
                                 "text=x%20y&reply_markup=%7B%22k%22%3A1%7D");
  EXPECT_EQ(form.params["a"], "1");
  EXPECT_EQ(form.params["text"], "x y");
  EXPECT_EQ(form.params["reply_markup"]["k"], 1);
  auto json = parseRequestParams("", "application/json; charset=utf-8", R"({"chat_id":5})");
  EXPECT_EQ(paramInt(json.params, "chat_id"), 5);
  auto broken = parseRequestParams("", "application/json", "[1]");
  EXPECT_FALSE(broken.error.empty());
  auto multipart = parseRequestParams(
      "", "multipart/form-data; boundary=XX",
      "--XX\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n7\r\n"
      "--XX\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n\r\nBIN\r\n"
      "--XX--\r\n");
  EXPECT_EQ(multipart.error, "");
  EXPECT_EQ(multipart.params["chat_id"], "7");
  EXPECT_EQ(multipart.params["photo"]["filename"], "p.jpg");
}

}  // namespace
}  // namespace botfn::fake_telegram
