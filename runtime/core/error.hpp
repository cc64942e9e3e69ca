// Error vocabulary for every stage: ErrorCode generated from errors.def, Error and Result<T>.
// Result<T> (tl::expected) is used on the data path; exceptions only while starting up.
#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace botfn {

enum class ErrorCode : int {
#define BOTFN_ERROR(name, id, http, retry, message) name = id,
#include "core/errors.def"
#undef BOTFN_ERROR
};

// What retrying can achieve for a code (errors.def says what each class means; the dispatcher's
// policy is flow/retry_policy.cpp).
enum class RetryClass { None, Once, Transient, Storage, Fatal };
std::string_view retryClassName(RetryClass retry);
// What the dispatcher does with an update whose handler failed with a code of this class.
std::string_view retryClassMeaning(RetryClass retry);

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;
  int http_status;
  RetryClass retry;
  std::string_view message;
};

const ErrorInfo& errorInfo(ErrorCode code);
// Every row of errors.def, in table order (for docs generation and Lua err.code strings).
const ErrorInfo* allErrors(size_t* count);

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string detail;

  int httpStatus() const { return errorInfo(code).http_status; }
  RetryClass retryClass() const { return errorInfo(code).retry; }
  // The storage failed (full, locked, I/O), not the work that was being stored.
  bool isStorageFault() const { return retryClass() == RetryClass::Storage; }
  std::string_view name() const { return errorInfo(code).name; }
  // "Name: detail" (or the table message when there is no detail).
  std::string describe() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string detail = {}) {
  return tl::unexpected<Error>(Error{code, std::move(detail)});
}

}  // namespace botfn
