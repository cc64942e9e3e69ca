// Bounds on what one update may record (config lua.effects_*), checked by the lua/api modules
// each time they record a write or a message, so a script looping over db.exec or ctx:reply
// fails its update instead of growing the worker's memory and the commit without end.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "effects/effects.hpp"

namespace botfn::effects {

struct EffectLimits {
  size_t max_writes = 1000;     // db.exec statements
  size_t max_messages = 100;    // outbox rows (Bot API calls)
  size_t max_bytes = 4u << 20;  // SQL text and parameters plus message parameters, together
};

// Counts the write or message against the limits; when it would pass one, returns why (naming
// the config key) and counts nothing: the caller raises EffectsTooLarge and records nothing.
std::optional<std::string> admitWrite(Effects& effects, const storage::SqlStatement& write,
                                      const EffectLimits& limits);
std::optional<std::string> admitMessage(Effects& effects, const storage::OutboxMessage& message,
                                        const EffectLimits& limits);

}  // namespace botfn::effects
