// Small helpers shared by the sender's files: the wall clock in unix ms (retry times are stored
// as such) and the key of a row's lane.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "storage/types.hpp"

namespace botfn::sender {

inline int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string laneKey(const storage::OutboxMessage& m) { return m.bot + '/' + m.lane; }

}  // namespace botfn::sender
