// Fault injection and flood limits for Bot API calls: turns an injected FaultSpec into its reply,
// and the --strict-limits token buckets (per chat: burst 3, 1 msg/s; per bot: 30 msg/s).
// Used by the bot_api dispatcher.
#pragma once

#include <optional>

#include "store.hpp"

namespace botfn::fake_telegram {

constexpr double kChatBurst = 3;
constexpr double kChatPerSecond = 1;
constexpr double kBotBurst = 30;
constexpr double kBotPerSecond = 30;

// Consumes one message slot; returns 0 when allowed, else retry_after seconds (>= 1) and consumes
// nothing.
int takeRateSlot(BotState& bot, std::optional<int64_t> chatId, SteadyTime now);

// The reply an injected fault produces (error JSON, 429 with Retry-After, or a dropped connection).
HttpReply faultReply(const FaultSpec& fault);
// Default description for an injected error code without one.
std::string defaultErrorDescription(int code, int retryAfter);

}  // namespace botfn::fake_telegram
