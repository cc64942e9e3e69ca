#include "core/thread_name.hpp"

#include <pthread.h>

#include <string>

namespace botfn {
void nameThisThread(std::string_view name) {
  const std::string truncated(name.substr(0, 15));
  pthread_setname_np(pthread_self(), truncated.c_str());
}
}  // namespace botfn
