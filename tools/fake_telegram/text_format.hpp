// parse_mode support: turns MarkdownV2, HTML or legacy Markdown text into plain text plus
// MessageEntity objects (offsets in UTF-16 units), with Telegram-style "can't parse entities"
// errors. Used by message_content when a send/edit call passes parse_mode.
#pragma once

#include <string>

#include "request_params.hpp"

namespace botfn::fake_telegram {

struct FormattedText {
  std::string text;
  Json entities = Json::array();
};

// mode is matched case-insensitively ("MarkdownV2", "HTML", "Markdown"). On failure returns false
// and sets error to the full description, e.g. "Bad Request: can't parse entities: Character '.'
// is reserved and must be escaped with the preceding '\'".
bool parseFormattedText(const std::string& source, const std::string& mode, FormattedText& out,
                        std::string& error);

}  // namespace botfn::fake_telegram
