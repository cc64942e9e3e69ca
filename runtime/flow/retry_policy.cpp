// Retry decisions from errors.def's retry classes.
#include "flow/retry_policy.hpp"

#include <algorithm>

namespace botfn::flow {

int maxRuns(RetryClass retry, const RetryOptions& options) {
  const int retries = static_cast<int>(options.delays.size());
  switch (retry) {
    case RetryClass::None:
    case RetryClass::Fatal:
      return 1;
    case RetryClass::Once:
      return 1 + std::min(1, retries);
    case RetryClass::Transient:
      return 1 + retries;
    case RetryClass::Storage:
      return 0;
  }
  return 1;
}

RetryDecision decideRetry(const Error& error, int runs, int storage_waits,
                          const RetryOptions& options) {
  const RetryClass retry = error.retryClass();
  if (retry == RetryClass::Storage) {
    // Doubling from storage_min, capped; the shift is bounded so it cannot overflow.
    const auto shifted = options.storage_min * (int64_t{1} << std::clamp(storage_waits, 0, 20));
    return {RetryAction::WaitForStorage, std::min(shifted, options.storage_max)};
  }
  if (runs >= maxRuns(retry, options)) return {RetryAction::DeadLetter, {}};
  // Run n + 1 waits the n-th delay (Once uses the first).
  return {RetryAction::RunAgain, options.delays[static_cast<size_t>(runs) - 1]};
}

}  // namespace botfn::flow
