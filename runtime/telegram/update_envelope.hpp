// The webhook's fast path: validates the raw body (JSON, an object, nesting ≤ 64, an integer
// update_id) and extracts only what the queue needs — the kind and the ordering lane.
// parseUpdate() (update.hpp) does the full parse later, on a worker; tests keep all three readers
// agreeing on every captured update and on hostile bodies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace botfn::telegram {

struct Envelope {
  int64_t update_id = 0;
  std::string kind;
  std::optional<int64_t> chat_id;
  std::optional<int64_t> user_id;
  std::string lane;
};

// Errors: BadJson, NotAnObject, TooDeep, MissingUpdateId.
// simdjson first; whatever it refuses goes to the reference reader, which decides.
Result<Envelope> parseEnvelope(std::string_view body, int max_depth = 64);
// One nlohmann SAX pass without a DOM: the rules' reference, and the fallback of parseEnvelope.
Result<Envelope> parseEnvelopeReference(std::string_view body, int max_depth = 64);

// "c<chat>", else "u<user>", else "bot": shared with parseUpdate so both agree.
std::string laneOf(const std::optional<int64_t>& chat_id, const std::optional<int64_t>& user_id);

}  // namespace botfn::telegram
