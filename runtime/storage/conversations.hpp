// Conversations: the flow state and data of a (bot, chat, user), read before a handler runs.
// Written only through UpdateCommits::commit, with the rest of the update.
#pragma once

#include "core/error.hpp"
#include "storage/types.hpp"

namespace botfn::storage {

class Conversations {
 public:
  virtual ~Conversations() = default;
  // The stored state, or {"", "{}"} for a conversation never stored.
  virtual Result<Conversation> loadConversation(const ConversationKey& key) = 0;
};

}  // namespace botfn::storage
