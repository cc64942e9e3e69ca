// The per-update effect caps: counting writes, messages and their bytes as they are recorded.
#include "effects/effect_limits.hpp"

#include <variant>

namespace botfn::effects {
namespace {

size_t bytesOf(const storage::SqlStatement& write) {
  size_t n = write.sql.size();
  for (const auto& p : write.params) {
    const auto* s = std::get_if<std::string>(&p);
    n += s ? s->size() : 8;
  }
  return n;
}

size_t bytesOf(const storage::OutboxMessage& m) {
  return m.method.size() + m.params_json.size() + m.handle.size() + m.target_handle.size();
}

std::optional<std::string> admitBytes(Effects& effects, size_t bytes, const EffectLimits& limits) {
  if (bytes > limits.max_bytes || effects.bytes > limits.max_bytes - bytes) {
    return "this update's writes and messages would pass " + std::to_string(limits.max_bytes) +
           " bytes (lua.effects_max_bytes)";
  }
  effects.bytes += bytes;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> admitWrite(Effects& effects, const storage::SqlStatement& write,
                                      const EffectLimits& limits) {
  if (effects.writes.size() >= limits.max_writes) {
    return "this update already recorded " + std::to_string(limits.max_writes) +
           " statements (lua.effects_max_writes)";
  }
  return admitBytes(effects, bytesOf(write), limits);
}

std::optional<std::string> admitMessage(Effects& effects, const storage::OutboxMessage& message,
                                        const EffectLimits& limits) {
  if (effects.outbox.size() >= limits.max_messages) {
    return "this update already recorded " + std::to_string(limits.max_messages) +
           " messages (lua.effects_max_messages)";
  }
  return admitBytes(effects, bytesOf(message), limits);
}

}  // namespace botfn::effects
