// `botfn chat` driven through a pipe, as a newcomer would use it: /start to the main menu and a
// button press that edits it.
#include <gtest/gtest.h>

#include "stack.hpp"

namespace botfn::e2e {
namespace {

using std::chrono::seconds;

TEST(ChatCliTest, FromStartToMainMenuThroughAPipe) {
  Stack s;
  Process chat({BOTFN_BIN, "chat", "--fake", s.fakeUrl(), "--token", s.token(), "--user", "7001",
                "--name", "Alice"},
               {}, s.dir() / "logs", "chat", /*stdin_pipe=*/true);
  auto waitOut = [&](const std::string& needle) {
    return waitUntil([&] { return chat.stdoutText().find(needle) != std::string::npos; },
                     seconds(20));
  };
  chat.writeStdin("/start\n");
  ASSERT_TRUE(waitOut("Send me your Wappi API token")) << chat.stdoutText() << chat.stderrText();
  EXPECT_NE(chat.stdoutText().find("bot> Hi, Alice!"), std::string::npos);
  chat.writeStdin("tok_1234567890\n");
  ASSERT_TRUE(waitOut("Now send your Wappi profile id"));
  chat.writeStdin("profile-7\n");
  ASSERT_TRUE(waitOut("[1] Mailing data")) << chat.stdoutText();
  EXPECT_NE(chat.stdoutText().find("bot> Main menu"), std::string::npos);
  chat.writeStdin("1\n");
  ASSERT_TRUE(waitOut("Mailing data: text, images")) << chat.stdoutText();
  chat.closeStdin();
  EXPECT_EQ(chat.wait(seconds(15)), 0);
}

}  // namespace
}  // namespace botfn::e2e
