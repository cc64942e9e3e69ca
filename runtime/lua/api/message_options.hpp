// Reading a message's text and options table into Bot API parameters, with Telegram's limits
// checked where the script can see the error: text 1-4096 characters, callback data 1-64 bytes.
// Used by api_ctx.cpp.
#pragma once

#include <nlohmann/json.hpp>

#include "lua/binding.hpp"

namespace botfn::lua {

// {"text": ..., parse_mode, reply_markup, ...}; "photo" + "caption" when opts.photo is set.
nlohmann::json buildMessage(lua_State* L, const char* api, const ArgReader& args, int text_arg,
                            int opts_arg);
// {"reply_markup": ...} for editMessageReplyMarkup (opts.buttons, or none to remove them).
nlohmann::json buildMarkupOnly(lua_State* L, const char* api, const ArgReader& args, int opts_arg);
// Characters as Telegram counts them (UTF-16 code units).
size_t utf16Length(std::string_view utf8);

}  // namespace botfn::lua
