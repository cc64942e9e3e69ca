// What a handler records instead of doing I/O: outgoing Bot API calls, app writes, the new
// conversation state. The commit (commit_builder) turns them into ONE Store transaction.
// Produced by lua/api modules, consumed by flow/ and storage.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace botfn::effects {

struct Effects {
  std::vector<storage::OutboxMessage> outbox;  // in the order recorded
  std::vector<storage::SqlStatement> writes;   // applied in the commit, in order
  std::optional<std::string> state;            // new flow state ("" = leave the flow)
  std::optional<std::string> data_json;        // new per-conversation data
  bool answered_callback = false;              // ctx:answer was called
  bool handled = false;                        // some route or flow took the update
  size_t bytes = 0;  // of writes and messages recorded so far (effect_limits.hpp)

  void clear() { *this = Effects{}; }
};

}  // namespace botfn::effects
