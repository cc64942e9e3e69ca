// Issue 7 item 17: a plain clone with nothing beside it failed 10 tests, because they read the
// captured updates from the shared folder beside it. The test data now lives in tests/data/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool isSourceOrBuildFile(const fs::path& path) {
  const auto ext = path.extension().string();
  return ext == ".cpp" || ext == ".hpp" || ext == ".sh" || ext == ".py" || ext == ".txt" ||
         ext == ".lua" || path.filename() == "CMakeLists.txt";
}

}  // namespace

TEST(Issue7TestsReadSharedDir, CapturedUpdatesLiveInTheRepository) {
  const fs::path corpus = fs::path(BOTFN_TEST_DATA_DIR) / "telegram-updates";
  ASSERT_TRUE(fs::is_directory(corpus)) << corpus;
  int updates = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    if (entry.path().extension() == ".json") ++updates;
  }
  EXPECT_GE(updates, 60);
  EXPECT_TRUE(fs::exists(corpus / "SOURCES.md"));
}

TEST(Issue7TestsReadSharedDir, NoTestBenchOrToolReachesOutsideTheClone) {
  const fs::path root(BOTFN_SOURCE_DIR);
  const std::string beside = std::string("..") + "/shared";  // split so this file does not match
  std::vector<std::string> offenders;
  for (const char* dir : {"tests", "bench", "tools", "CMakeLists.txt"}) {
    const fs::path top = root / dir;
    if (fs::is_regular_file(top)) {
      if (slurp(top).find(beside) != std::string::npos) offenders.push_back(top.string());
      continue;
    }
    for (const auto& entry : fs::recursive_directory_iterator(top)) {
      if (!entry.is_regular_file() || !isSourceOrBuildFile(entry.path())) continue;
      if (entry.path().string().find("node_modules") != std::string::npos) continue;
      if (slurp(entry.path()).find(beside) != std::string::npos) {
        offenders.push_back(entry.path().string());
      }
    }
  }
  EXPECT_TRUE(offenders.empty()) << "reads the folder beside the clone: " << offenders.front();
}
