// The dispatcher's retry policy, generated from the retry class of each code in errors.def: what
// happens to an update whose handler failed (run again after a delay, wait for the storage, or
// dead-letter). Pure functions; used by flow/dispatcher.cpp, tested over every code.
#pragma once

#include <chrono>
#include <vector>

#include "core/error.hpp"

namespace botfn::flow {

struct RetryOptions {
  // dispatch.retry_delays_ms: one delay per extra run of a Transient failure.
  std::vector<std::chrono::milliseconds> delays{std::chrono::seconds(1), std::chrono::seconds(5),
                                                std::chrono::seconds(25)};
  // A storage fault waits storage_min, doubling per consecutive fault up to storage_max.
  std::chrono::milliseconds storage_min{500};
  std::chrono::milliseconds storage_max{30000};
};

enum class RetryAction {
  RunAgain,        // run the handler again after delay (counts as a run)
  WaitForStorage,  // run again after delay, not counted: the storage failed, not the handler
  DeadLetter,      // commit the dead letter now
};

struct RetryDecision {
  RetryAction action = RetryAction::DeadLetter;
  std::chrono::milliseconds delay{0};
};

// The longest an update of this class may run in all (1 = no retry); 0 for Storage (unbounded).
int maxRuns(RetryClass retry, const RetryOptions& options);

// runs: how many times the handler has run for this update, this failure included (storage waits
// are not runs); storage_waits: storage faults in a row before this one.
RetryDecision decideRetry(const Error& error, int runs, int storage_waits,
                          const RetryOptions& options);

}  // namespace botfn::flow
