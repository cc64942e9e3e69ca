// Blocks on the async storage interfaces in tests: await<Result<void>>([&](auto done) { ... }).
#pragma once

#include <future>
#include <utility>

namespace botfn::storage::contract {

template <typename T, typename Fn>
T await(Fn&& start) {
  std::promise<T> p;
  auto f = p.get_future();
  start([&p](T v) { p.set_value(std::move(v)); });
  return f.get();
}

}  // namespace botfn::storage::contract
