// AdminReads: what operators look at (botfn dlq) and the probe of whether the store can write.
#pragma once

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

class AdminReads {
 public:
  virtual ~AdminReads() = default;
  // The newest dead letters first.
  virtual Result<std::vector<DeadLetter>> deadLetters(size_t limit) = 0;
  // Test and ops probe: can the store write now?
  virtual Result<void> checkWritable() = 0;
};

}  // namespace botfn::storage
