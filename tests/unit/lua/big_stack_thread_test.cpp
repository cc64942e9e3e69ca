// Tests runtime/lua/big_stack_thread.cpp: the requested stack size is honoured, join semantics.
#include "lua/big_stack_thread.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <system_error>

namespace botfn::lua {
namespace {

TEST(BigStackThread, RunsWithTheRequestedStackSize) {
  for (std::size_t size : {std::size_t{2} << 20, kDefaultLuaStackSize, std::size_t{16} << 20}) {
    std::size_t seen = 0;
    runOnBigStack([&] { seen = BigStackThread::currentStackSize(); }, size);
    EXPECT_GE(seen, size);
    EXPECT_LT(seen, size + (std::size_t{1} << 20));
  }
}

TEST(BigStackThread, JoinsOnDestructionAndMoves) {
  std::atomic<int> runs{0};
  {
    BigStackThread a([&] { ++runs; });
    BigStackThread b(std::move(a));
    EXPECT_FALSE(a.joinable());
    EXPECT_TRUE(b.joinable());
    BigStackThread c;
    c = std::move(b);
    EXPECT_TRUE(c.joinable());
  }
  EXPECT_EQ(runs.load(), 1);
  BigStackThread d([&] { ++runs; });
  d.join();
  EXPECT_FALSE(d.joinable());
  EXPECT_THROW(d.join(), std::system_error);
  EXPECT_EQ(runs.load(), 2);
}

TEST(BigStackThread, DeepCStackUseDoesNotCrash) {
  // About 4 MiB of frames: would overflow a typical 2 MiB default thread stack.
  std::function<int(int)> recurse = [&](int n) -> int {
    volatile char pad[4096];
    pad[0] = static_cast<char>(n);
    return n == 0 ? pad[0] : recurse(n - 1) + 1;
  };
  int depth = 0;
  runOnBigStack([&] { depth = recurse(1000); });
  EXPECT_EQ(depth, 1000);
}

}  // namespace
}  // namespace botfn::lua
