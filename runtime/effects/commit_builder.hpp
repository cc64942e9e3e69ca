// Builds the one-transaction Commit for an update from its outcome: processed marker,
// conversation state, app writes, outbox rows (plus the empty answer an unanswered callback
// query needs), or, for a dead letter, the marker, the dead letter and the bot's error_text.
#pragma once

#include "effects/run.hpp"
#include "storage/types.hpp"

namespace botfn::effects {

storage::ConversationKey conversationKeyOf(const std::string& bot, const telegram::Update& update);

storage::Commit buildCommit(const RunInput& input, Effects effects);
storage::Commit buildDeadLetterCommit(const RunInput& input, const Error& error,
                                      const std::string& traceback, int attempts);
// For updates that need no run (a kind no app handles is still marked processed).
storage::Commit buildSkipCommit(const RunInput& input);

// A fresh unique handle for an outgoing message ("h" + 24 hex digits).
std::string newHandle();

}  // namespace botfn::effects
