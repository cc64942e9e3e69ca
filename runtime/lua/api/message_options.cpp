// Options → Bot API parameters.
#include "lua/api/message_options.hpp"

#include <lua.hpp>

#include <optional>

namespace botfn::lua {
namespace {

std::string fieldString(lua_State* L, int table, const char* key) {
  lua_getfield(L, table, key);
  std::string out(stringAt(L, -1));
  lua_pop(L, 1);
  return out;
}

nlohmann::json inlineKeyboard(lua_State* L, const char* api, int rows_idx) {
  nlohmann::json rows = nlohmann::json::array();
  const size_t nrows = lua_objlen(L, rows_idx);
  for (size_t r = 1; r <= nrows; ++r) {
    lua_rawgeti(L, rows_idx, static_cast<int>(r));
    const int row = lua_gettop(L);
    if (!lua_istable(L, row))
      raiseError(L, "%s: opts.buttons[%zu] must be a row (a table of buttons)", api, r);
    nlohmann::json out_row = nlohmann::json::array();
    const size_t nbtn = lua_objlen(L, row);
    for (size_t b = 1; b <= nbtn; ++b) {
      lua_rawgeti(L, row, static_cast<int>(b));
      const int btn = lua_gettop(L);
      if (!lua_istable(L, btn))
        raiseError(L, "%s: opts.buttons[%zu][%zu] must be a table {text=, data=}", api, r, b);
      const std::string text = fieldString(L, btn, "text");
      if (text.empty()) raiseError(L, "%s: opts.buttons[%zu][%zu].text is missing", api, r, b);
      nlohmann::json button{{"text", text}};
      const std::string url = fieldString(L, btn, "url");
      const std::string data = fieldString(L, btn, "data");
      if (!url.empty()) {
        button["url"] = url;
      } else {
        if (data.empty() || data.size() > 64) {
          raiseError(L, "%s: opts.buttons[%zu][%zu].data must be 1-64 bytes (got %zu)", api, r, b,
                     data.size());
        }
        button["callback_data"] = data;
      }
      out_row.push_back(std::move(button));
      lua_pop(L, 1);
    }
    rows.push_back(std::move(out_row));
    lua_pop(L, 1);
  }
  return nlohmann::json{{"inline_keyboard", std::move(rows)}};
}

nlohmann::json replyKeyboard(lua_State* L, const char* api, int rows_idx, int opts) {
  nlohmann::json rows = nlohmann::json::array();
  const size_t nrows = lua_objlen(L, rows_idx);
  for (size_t r = 1; r <= nrows; ++r) {
    lua_rawgeti(L, rows_idx, static_cast<int>(r));
    const int row = lua_gettop(L);
    if (!lua_istable(L, row))
      raiseError(L, "%s: opts.keyboard[%zu] must be a row (a table of labels)", api, r);
    nlohmann::json out_row = nlohmann::json::array();
    for (size_t b = 1; b <= lua_objlen(L, row); ++b) {
      lua_rawgeti(L, row, static_cast<int>(b));
      if (lua_type(L, -1) != LUA_TSTRING)
        raiseError(L, "%s: opts.keyboard[%zu][%zu] must be a string", api, r, b);
      out_row.push_back(nlohmann::json{{"text", std::string(stringAt(L, -1))}});
      lua_pop(L, 1);
    }
    rows.push_back(std::move(out_row));
    lua_pop(L, 1);
  }
  nlohmann::json kb{{"keyboard", std::move(rows)}, {"resize_keyboard", true}};
  lua_getfield(L, opts, "one_time");
  if (lua_toboolean(L, -1)) kb["one_time_keyboard"] = true;
  lua_pop(L, 1);
  return kb;
}

void readMarkup(lua_State* L, const char* api, int opts, nlohmann::json& params) {
  lua_getfield(L, opts, "buttons");
  if (lua_istable(L, -1)) {
    params["reply_markup"] = inlineKeyboard(L, api, lua_gettop(L));
  } else if (!lua_isnil(L, -1)) {
    raiseError(L, "%s: opts.buttons must be a table of rows", api);
  }
  lua_pop(L, 1);
  lua_getfield(L, opts, "keyboard");
  if (lua_istable(L, -1)) {
    params["reply_markup"] = replyKeyboard(L, api, lua_gettop(L), opts);
  }
  lua_pop(L, 1);
  lua_getfield(L, opts, "remove_keyboard");
  if (lua_toboolean(L, -1)) params["reply_markup"] = nlohmann::json{{"remove_keyboard", true}};
  lua_pop(L, 1);
}

}  // namespace

size_t utf16Length(std::string_view s) {
  size_t units = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    units += (c >= 0xF0) ? 2 : 1;      // astral code points take two UTF-16 units
  }
  return units;
}

nlohmann::json buildMessage(lua_State* L, const char* api, const ArgReader& args, int text_arg,
                            int opts_arg) {
  const std::string_view text = args.string(text_arg, "text");
  nlohmann::json params;
  int opts = 0;
  if (!args.isNone(opts_arg)) opts = args.table(opts_arg, "opts");
  std::optional<CallbackScope> nesting;  // opts' __index may call back into this function
  if (opts) nesting.emplace(L, api);
  std::string photo = opts ? fieldString(L, opts, "photo") : std::string();
  const size_t limit = photo.empty() ? 4096 : 1024;
  const size_t length = utf16Length(text);
  if (photo.empty() && length == 0)
    raiseError(L, "%s: text is empty (Telegram rejects empty messages)", api);
  if (length > limit) {
    raiseError(L, "%s: text is %zu characters, Telegram allows %zu", api, length, limit);
  }
  if (photo.empty()) {
    params["text"] = std::string(text);
  } else {
    params["photo"] = photo;
    if (!text.empty()) params["caption"] = std::string(text);
  }
  if (!opts) return params;
  const std::string parse_mode = fieldString(L, opts, "parse_mode");
  if (!parse_mode.empty()) {
    if (parse_mode != "HTML" && parse_mode != "MarkdownV2" && parse_mode != "Markdown") {
      raiseError(L, "%s: opts.parse_mode must be HTML, MarkdownV2 or Markdown", api);
    }
    params["parse_mode"] = parse_mode;
  }
  lua_getfield(L, opts, "reply_to");
  if (lua_type(L, -1) == LUA_TNUMBER) {
    params["reply_parameters"] =
        nlohmann::json{{"message_id", static_cast<int64_t>(lua_tonumber(L, -1))},
                       {"allow_sending_without_reply", true}};
  }
  lua_pop(L, 1);
  lua_getfield(L, opts, "disable_preview");
  if (lua_toboolean(L, -1)) params["link_preview_options"] = nlohmann::json{{"is_disabled", true}};
  lua_pop(L, 1);
  readMarkup(L, api, opts, params);
  return params;
}

nlohmann::json buildMarkupOnly(lua_State* L, const char* api, const ArgReader& args, int opts_arg) {
  nlohmann::json params = nlohmann::json::object();
  if (!args.isNone(opts_arg)) {
    const int opts = args.table(opts_arg, "opts");
    const CallbackScope nesting(L, api);  // opts' __index may call back into this function
    readMarkup(L, api, opts, params);
  }
  if (!params.contains("reply_markup"))
    params["reply_markup"] = nlohmann::json{{"inline_keyboard", nlohmann::json::array()}};
  return params;
}

}  // namespace botfn::lua
