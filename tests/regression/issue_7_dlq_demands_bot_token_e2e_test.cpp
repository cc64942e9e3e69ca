// Issue 7 item 18: `botfn dlq list` (and the other commands that only read the database or the
// scripts) refused to run without the bot token, so an operator inspecting dead letters needed
// the secret that sends messages. Commands that call the Bot API still demand it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "process.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

class Issue7DlqDemandsBotToken : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("botfn-issue7-token-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "logs");
    std::ofstream(dir_ / "botfn.toml")
        << "[storage]\npath = \"" << (dir_ / "botfn.db").string() << "\"\n"
        << "[lua]\nscripts_dir = \"" << BOTFN_SOURCE_DIR << "/scripts-lua\"\n"
        << "[bots.demo]\napp = \"demo\"\ntoken_env = \"ISSUE7_UNSET_TOKEN\"\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs botfn with no token in the environment; returns the exit status.
  int run(std::vector<std::string> args, std::string* err = nullptr) {
    std::vector<std::string> argv{BOTFN_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--config", (dir_ / "botfn.toml").string()});
    Process p(argv, {}, dir_ / "logs", args.front() + std::to_string(runs_++));
    const int status = p.wait(seconds(30));
    if (err) *err = p.stderrText();
    return status;
  }

  std::filesystem::path dir_;
  int runs_ = 0;
};

TEST_F(Issue7DlqDemandsBotToken, ReadOnlyCommandsRunWithoutTheToken) {
  std::string err;
  EXPECT_EQ(run({"migrate"}, &err), 0) << err;
  EXPECT_EQ(run({"dlq", "list"}, &err), 0) << err;
  EXPECT_NE(err.find("no dead letters"), std::string::npos) << err;
  EXPECT_EQ(run({"check"}, &err), 0) << err;
}

TEST_F(Issue7DlqDemandsBotToken, CommandsThatCallTheBotApiStillDemandIt) {
  std::string err;
  EXPECT_NE(run({"webhook", "info"}, &err), 0);
  EXPECT_NE(err.find("ISSUE7_UNSET_TOKEN"), std::string::npos) << err;
}

}  // namespace
}  // namespace botfn::e2e
