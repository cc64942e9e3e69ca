// Bus: the durable inbound queue. A backend implements both sides; ingress gets the Inbox and the
// dispatcher the WorkQueue. Embedded: in-process, persisted in SQLite (storage/sqlite); production:
// Redis streams (storage/redis).
#pragma once

#include "storage/inbox.hpp"
#include "storage/work_queue.hpp"

namespace botfn::storage {

class Bus : public Inbox, public WorkQueue {};

}  // namespace botfn::storage
