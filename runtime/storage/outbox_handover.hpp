// The hand-over of committed outbox rows to the sender (OutboxStore::onOutboxCommitted), shared
// by every backend's Store: set() and handOver() take one lock, so set(nullptr) returns only once
// no call is running (the listener may be destroyed right after).
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "core/log.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

class OutboxHandover {
 public:
  using Listener = std::function<void(std::vector<OutboxRow>)>;

  void set(Listener listener) {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
  }

  // After a commit: its messages (moved from) with the ids the backend assigned, in order. A
  // count that does not match (the commit was applied twice and ids collected twice) hands over
  // nothing; the sender's reads find those rows.
  void handOver(std::vector<OutboxMessage>& messages, const std::vector<int64_t>& ids) {
    if (messages.empty() || messages.size() != ids.size()) return;
    std::vector<OutboxRow> rows;
    rows.reserve(messages.size());
    for (size_t i = 0; i < messages.size(); ++i) {
      rows.push_back(OutboxRow{ids[i], std::move(messages[i]), 0, 0});
    }
    std::lock_guard lock(mutex_);
    if (!listener_) return;
    try {
      listener_(std::move(rows));
    } catch (const std::exception& e) {
      log::get("storage")->error("outbox hand-over threw: {}", e.what());
    }
  }

 private:
  std::mutex mutex_;
  Listener listener_;
};

}  // namespace botfn::storage
