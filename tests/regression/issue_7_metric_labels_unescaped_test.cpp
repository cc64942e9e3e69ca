// Issue 7, item 14: label values were pasted into the Prometheus text as they came, and the
// update kind (any key a sender makes up) became a label: one quote or newline broke /metrics,
// and made-up kinds grew the series without bound.
#include <gtest/gtest.h>

#include <fstream>

#include "app/config.hpp"
#include "core/metrics.hpp"
#include "telegram/update.hpp"

namespace botfn {
namespace {

TEST(Issue7MetricLabelsUnescaped, LabelValuesAreEscaped) {
  EXPECT_EQ(labelValue("plain"), "plain");
  EXPECT_EQ(labelValue("a\"b"), "a\\\"b");
  EXPECT_EQ(labelValue("a\\b"), "a\\\\b");
  EXPECT_EQ(labelValue("a\nb"), "a\\nb");
  Metrics metrics;
  metrics.counter("x_total", "v=\"" + labelValue("q\"\n\\") + "\"")++;
  EXPECT_NE(metrics.render().find("x_total{v=\"q\\\"\\n\\\\\"} 1\n"), std::string::npos);
}

TEST(Issue7MetricLabelsUnescaped, UnknownUpdateKindsBecomeOther) {
  EXPECT_EQ(telegram::kindLabel("message"), "message");
  EXPECT_EQ(telegram::kindLabel("callback_query"), "callback_query");
  EXPECT_EQ(telegram::kindLabel("chat_boost"), "chat_boost");
  EXPECT_EQ(telegram::kindLabel(""), "none");
  EXPECT_EQ(telegram::kindLabel("made_up_1"), "other");
  EXPECT_EQ(telegram::kindLabel("x\"}\nevil 1"), "other");
}

TEST(Issue7MetricLabelsUnescaped, AppNamesCannotCarryQuotes) {
  const std::string path = ::testing::TempDir() + "/botfn_app_label.toml";
  std::ofstream(path) << "[bots.a]\ntoken_env = \"LABEL_TEST_TOKEN\"\napp = \"x\\\"y\"\n";
  setenv("LABEL_TEST_TOKEN", "1:AAA", 1);
  app::ConfigOverrides o;
  o.file = path;
  EXPECT_THROW(app::loadConfig(o), app::ConfigError);
}

}  // namespace
}  // namespace botfn
