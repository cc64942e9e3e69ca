// Bus: the durable inbound queue. A backend implements both sides; ingress gets the Inbox and the
// dispatcher the WorkQueue. Embedded: in-process, persisted in SQLite (storage/sqlite); production:
// Redis streams (storage/redis), shared by several instances that split the lanes between them.
#pragma once

#include "storage/inbox.hpp"
#include "storage/lane_ownership.hpp"
#include "storage/work_queue.hpp"

namespace botfn::storage {

class Bus : public Inbox, public WorkQueue, public LaneOwnership {};

}  // namespace botfn::storage
