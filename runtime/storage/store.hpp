// Store: durable state of bots and apps — app tables (SQL), conversation state, processed markers,
// outbox, dead letters — with one-transaction commits. A backend implements all of it; each stage
// receives only its narrow side from the composition root (see the headers included below).
// Embedded: storage/sqlite; production: storage/postgres (later).
#pragma once

#include "storage/admin_reads.hpp"
#include "storage/app_sql.hpp"
#include "storage/conversations.hpp"
#include "storage/outbox_store.hpp"
#include "storage/update_commits.hpp"

namespace botfn::storage {

class Store : public UpdateCommits,
              public Conversations,
              public OutboxStore,
              public AppSql,
              public AdminReads {};

}  // namespace botfn::storage
