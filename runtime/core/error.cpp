// Tables generated from errors.def.
#include "core/error.hpp"

#include <iterator>

namespace botfn {
namespace {
constexpr ErrorInfo kErrors[] = {
#define BOTFN_ERROR(name, id, http, retry, message) \
  {ErrorCode::name, #name, http, RetryClass::retry, message},
#include "core/errors.def"
#undef BOTFN_ERROR
};
}  // namespace

const ErrorInfo& errorInfo(ErrorCode code) {
  for (const auto& e : kErrors) {
    if (e.code == code) return e;
  }
  return kErrors[1];  // Internal
}

const ErrorInfo* allErrors(size_t* count) {
  *count = std::size(kErrors);
  return kErrors;
}

std::string_view retryClassName(RetryClass retry) {
  switch (retry) {
    case RetryClass::None:
      return "none";
    case RetryClass::Once:
      return "once";
    case RetryClass::Transient:
      return "transient";
    case RetryClass::Storage:
      return "storage";
    case RetryClass::Fatal:
      return "fatal";
  }
  return "?";
}

std::string_view retryClassMeaning(RetryClass retry) {
  switch (retry) {
    case RetryClass::None:
      return "retrying cannot help (bad input, a script that does not compile, a sandbox "
             "violation): dead-lettered at once";
    case RetryClass::Once:
      return "deterministic but may depend on load (CPU budget, memory cap): run once more, then "
             "dead-lettered";
    case RetryClass::Transient:
      return "run again after each of `dispatch.retry_delays_ms`, then dead-lettered";
    case RetryClass::Storage:
      return "the storage failed, not the handler: the update waits (`dispatch.storage_retry_*`) "
             "and runs again; never counted as a retry, never dead-lettered";
    case RetryClass::Fatal:
      return "an operator must act (configuration, revoked token): dead-lettered at once";
  }
  return "?";
}

std::string Error::describe() const {
  std::string out(name());
  out += ": ";
  out += detail.empty() ? std::string(errorInfo(code).message) : detail;
  return out;
}

}  // namespace botfn
