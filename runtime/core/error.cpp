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

std::string Error::describe() const {
  std::string out(name());
  out += ": ";
  out += detail.empty() ? std::string(errorInfo(code).message) : detail;
  return out;
}

}  // namespace botfn
