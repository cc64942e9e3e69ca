// OutboxStore: the sender's side of the store — committed messages in id order, their results,
// the message_id behind a handle, and the hand-over of rows as they commit.
#pragma once

#include <functional>
#include <optional>

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // Pending rows in id order, only those with id > after_id (the sender reads each row once).
  // Ids must grow in commit order (one writer on SQLite).
  virtual Result<std::vector<OutboxRow>> pendingOutbox(size_t limit, int64_t after_id = 0) = 0;
  // Ids of pending rows with after_id < id <= up_to_id, ascending, at most limit: the sender's
  // sweep for rows it holds in no lane. Reads only the ids (the index of pending rows).
  virtual Result<std::vector<int64_t>> pendingOutboxIds(size_t limit, int64_t after_id,
                                                        int64_t up_to_id) = 0;
  // Records a send's result; done runs once it is durable (or failed: then nothing changed).
  virtual void finishOutbox(int64_t id, OutboxResult result,
                            std::function<void(Result<void>)> done) = 0;
  virtual Result<std::optional<int64_t>> messageIdOfHandle(const std::string& handle) = 0;
  // Called after every commit that added outbox rows, with those rows (ids assigned, attempts 0),
  // in commit order: the sender takes them without reading them back. Rows committed before the
  // listener was set are found by pendingOutbox(). Setting nullptr returns once no call runs.
  virtual void onOutboxCommitted(std::function<void(std::vector<OutboxRow>)> listener) = 0;
};

}  // namespace botfn::storage
