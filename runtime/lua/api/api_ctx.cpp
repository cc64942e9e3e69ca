// ctx: lazily built update fields and the message methods (reply, send, edit, answer, delete,
// go, leave). Methods only record effects; the sender performs them after the commit.
#include "lua/api/api_ctx.hpp"

#include <lua.hpp>
#include <simdjson.h>

#include "effects/commit_builder.hpp"
#include "lua/api/json_bridge.hpp"
#include "lua/api/message_options.hpp"
#include "lua/api/run_state.hpp"
#include "lua/binding.hpp"

namespace botfn::lua {
namespace {

constexpr const char* kCtxType = "botfn.ctx";

struct CtxBox {
  RunState* run;
};

RunState& runOf(lua_State* L, const char* api) {
  auto* box = static_cast<CtxBox*>(luaL_checkudata(L, 1, kCtxType));
  if (!box->run) raiseError(L, "%s: ctx is used after its update finished", api);
  return *box->run;
}

// The update's payload (its "message", "callback_query"...), when it has one.
std::optional<simdjson::dom::element> payload(const RunState& run) {
  if (run.input->update.kind.empty()) return std::nullopt;
  return telegram::fieldOf(run.input->update_doc->root(), run.input->update.kind);
}

std::optional<simdjson::dom::element> messageOf(const RunState& run) {
  auto p = payload(run);
  if (!p) return std::nullopt;
  if (telegram::isMessageKind(run.input->update.kind)) return p;
  if (run.input->update.kind == "callback_query") {
    auto message = telegram::fieldOf(*p, "message");
    if (message && message->is_object()) return message;
  }
  return std::nullopt;
}

// Pushes object[key] when present (null reads as absent), else returns false.
bool pushFieldOf(lua_State* L, const std::optional<simdjson::dom::element>& object,
                 std::string_view key) {
  if (!object) return false;
  auto v = telegram::fieldOf(*object, key);
  if (!v || v->is_null()) return false;
  pushJson(L, *v);
  return true;
}

void pushOptionalInt(lua_State* L, const std::optional<int64_t>& v) {
  if (v) {
    lua_pushnumber(L, static_cast<lua_Number>(*v));
  } else {
    lua_pushnil(L);
  }
}

void pushData(lua_State* L, RunState& run) {
  if (run.data_ref == LUA_NOREF || run.data_ref == -2) {
    auto data = nlohmann::json::parse(run.input->conversation.data_json, nullptr, false);
    if (!data.is_object()) data = nlohmann::json::object();
    pushJson(L, data);
    run.data_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, run.data_ref);
}

// Builds the field `key` (at stack index 2) and leaves it on top; returns false for unknown keys.
bool buildField(lua_State* L, RunState& run, std::string_view key) {
  const auto& u = run.input->update;
  if (key == "update") {
    pushJson(L, run.input->update_doc->root());
  } else if (key == "update_id") {
    lua_pushnumber(L, static_cast<lua_Number>(u.update_id));
  } else if (key == "kind") {
    pushString(L, u.kind);
  } else if (key == "message_kind") {
    u.message_kind.empty() ? lua_pushnil(L) : pushString(L, u.message_kind);
  } else if (key == "message") {
    const auto m = messageOf(run);
    m ? pushJson(L, *m) : lua_pushnil(L);
  } else if (key == "chat") {
    if (!pushFieldOf(L, messageOf(run), "chat") && !pushFieldOf(L, payload(run), "chat"))
      lua_pushnil(L);
  } else if (key == "user" || key == "from") {
    const auto p = payload(run);
    if (!pushFieldOf(L, p, "from") && !pushFieldOf(L, p, "user")) lua_pushnil(L);
  } else if (key == "chat_id") {
    pushOptionalInt(L, u.chat_id);
  } else if (key == "user_id") {
    pushOptionalInt(L, u.user_id);
  } else if (key == "message_id") {
    pushOptionalInt(L, u.message_id);
  } else if (key == "text") {
    u.text.empty() && u.message_kind != "text" ? lua_pushnil(L) : pushString(L, u.text);
  } else if (key == "command") {
    u.command.empty() ? lua_pushnil(L) : pushString(L, u.command);
  } else if (key == "args") {
    pushString(L, u.command_args);
  } else if (key == "for_other_bot") {
    lua_pushboolean(L, u.command_for_other_bot);
  } else if (key == "callback_data") {
    u.kind == "callback_query" ? pushString(L, u.callback_data) : lua_pushnil(L);
  } else if (key == "callback_id") {
    u.callback_id.empty() ? lua_pushnil(L) : pushString(L, u.callback_id);
  } else if (key == "lang") {
    pushString(L, run.lang);
  } else if (key == "attempt") {
    lua_pushnumber(L, run.input->attempt);
  } else if (key == "bot") {
    lua_createtable(L, 0, 3);
    pushString(L, run.input->bot->name);
    lua_setfield(L, -2, "name");
    pushString(L, run.input->bot->username);
    lua_setfield(L, -2, "username");
    pushJson(L, run.input->bot->vars);
    lua_setfield(L, -2, "vars");
  } else {
    return false;
  }
  return true;
}

int ctxIndex(lua_State* L) {
  RunState& run = runOf(L, "ctx");
  // Live fields: never cached.
  const std::string_view key = stringAt(L, 2);
  if (key == "state") {
    pushString(L, run.effects.state.value_or(run.input->conversation.state));
    return 1;
  }
  if (key == "data") {
    pushData(L, run);
    return 1;
  }
  lua_getfenv(L, 1);  // the per-ctx cache table
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  if (key.empty()) return 0;
  if (!buildField(L, run, key)) {
    luaL_getmetatable(L, kCtxType);  // methods live in the metatable's "methods" table
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, -4);  // cache
  return 1;
}

int ctxNewIndex(lua_State* L) {
  return raiseError(
      L, "ctx: fields are read-only (use ctx.data for your own values, ctx:go to change state)");
}

int ctxToString(lua_State* L) {
  lua_pushstring(L, "ctx");
  return 1;
}

std::string laneOf(int64_t chat_id) { return "c" + std::to_string(chat_id); }

// Raises (EffectsTooLarge) instead of recording past lua.effects_max_messages / _max_bytes.
void admit(lua_State* L, RunState& run, const char* api, const storage::OutboxMessage& m) {
  if (auto refused = effects::admitMessage(run.effects, m, run.limits.effects)) {
    raiseFailure(L, run, ErrorCode::EffectsTooLarge, std::string(api) + ": " + *refused);
  }
}

std::string record(lua_State* L, RunState& run, const char* api, int64_t chat_id,
                   std::string method, nlohmann::json params, std::string target_handle = {}) {
  storage::OutboxMessage m;
  m.bot = run.input->bot->name;
  m.lane = laneOf(chat_id);
  m.chat_id = chat_id;
  m.method = std::move(method);
  if (m.method == "sendMessage" || m.method == "sendPhoto") m.handle = effects::newHandle();
  m.params_json = params.dump();
  m.target_handle = std::move(target_handle);
  admit(L, run, api, m);
  run.effects.outbox.push_back(m);
  return m.handle;
}

int64_t replyChat(lua_State* L, RunState& run, const char* api) {
  if (!run.input->update.chat_id) raiseError(L, "%s: this update has no chat to reply to", api);
  return *run.input->update.chat_id;
}

int sendInto(lua_State* L, RunState& run, int64_t chat_id, int text_arg, const char* api,
             int self) {
  ArgReader args(L, api, self);
  auto params = buildMessage(L, api, args, text_arg, text_arg + 1);
  params["chat_id"] = chat_id;
  const char* method = params.contains("photo") ? "sendPhoto" : "sendMessage";
  pushString(L, record(L, run, api, chat_id, method, std::move(params)));
  return 1;
}

/// @lua ctx:reply(text, opts?) -> handle
/// @context update handler
/// @param text string 1-4096 characters
/// @param opts table? buttons, keyboard, remove_keyboard, parse_mode, photo, reply_to,
/// disable_preview
/// @return string a handle for ctx:edit, valid across updates
/// @error raises on empty/too long text, callback data over 64 bytes, or no chat in the update;
/// raises (`EffectsTooLarge`) when the update would record more than lua.effects_max_messages
/// messages (ctx:reply, ctx:send, ctx:edit, ctx:answer and ctx:delete each record one) or
/// lua.effects_max_bytes bytes together with its db.exec statements
/// @example local h = ctx:reply(t("menu_title"), { buttons = { { { text = "Mailing", data =
/// "menu:mailing" } } } })
/// @example ctx:reply("<b>Done</b>", { parse_mode = "HTML", keyboard = { { "Yes", "No" } },
/// one_time = true })
int ctxReply(lua_State* L) {
  RunState& run = runOf(L, "ctx:reply");
  return sendInto(L, run, replyChat(L, run, "ctx:reply"), 1, "ctx:reply", 1);
}

/// @lua ctx:send(chat_id, text, opts?) -> handle
/// @context update handler
/// @param chat_id number any chat the bot may write to (an admin, a group)
/// @param text string 1-4096 characters; opts as for ctx:reply
/// @return string a handle for ctx:edit
/// @example ctx:send(ctx.bot.vars.admin_chat, "New booking from " .. ctx.user.first_name)
int ctxSend(lua_State* L) {
  RunState& run = runOf(L, "ctx:send");
  ArgReader args(L, "ctx:send", 1);
  const int64_t chat_id = args.integer(1, "chat_id");
  return sendInto(L, run, chat_id, 2, "ctx:send", 1);
}

/// @lua ctx:edit(target?, text?, opts?)
/// @context update handler
/// @param target string|number|nil a handle from ctx:reply/ctx:send, a message_id, or nil for the
///   message whose button was pressed
/// @param text string? the new text; omit it to change only the buttons (opts.buttons)
/// @param opts table? as for ctx:reply
/// @error raises when there is no target and the update is not a button press
/// @example ctx:edit(nil, t("section_mailing"), { buttons = { { { text = "Back", data = "menu:back"
/// } } } })
/// @example ctx:edit(ctx.data.menu, "Menu (updated)")
int ctxEdit(lua_State* L) {
  RunState& run = runOf(L, "ctx:edit");
  ArgReader args(L, "ctx:edit", 1);
  std::string target_handle;
  std::optional<int64_t> message_id;
  int64_t chat_id = replyChat(L, run, "ctx:edit");
  if (lua_type(L, args.index(1)) == LUA_TSTRING) {
    target_handle = std::string(stringAt(L, args.index(1)));
    if (target_handle.empty() || target_handle[0] != 'h') {
      return args.fail(1, "target", "handle, message_id or nil");
    }
  } else if (lua_type(L, args.index(1)) == LUA_TNUMBER) {
    message_id = args.integer(1, "target");
  } else if (args.isNone(1)) {
    if (run.input->update.kind != "callback_query" || !run.input->update.message_id) {
      raiseError(L, "ctx:edit: no target given and this update is not a button press on a message");
    }
    message_id = run.input->update.message_id;
  } else {
    return args.fail(1, "target", "handle, message_id or nil");
  }
  nlohmann::json params;
  std::string method;
  if (args.isNone(2)) {
    params = buildMarkupOnly(L, "ctx:edit", args, 3);
    method = "editMessageReplyMarkup";
  } else {
    params = buildMessage(L, "ctx:edit", args, 2, 3);
    method = "editMessageText";
    if (params.contains("photo"))
      raiseError(L, "ctx:edit: a photo cannot be edited into a message");
  }
  params["chat_id"] = chat_id;
  if (message_id) params["message_id"] = *message_id;
  record(L, run, "ctx:edit", chat_id, method, std::move(params), target_handle);
  return 0;
}

/// @lua ctx:answer(text?, opts?)
/// @context update handler (callback_query)
/// @param text string? a short notice shown to the user (0-200 characters)
/// @param opts table? {alert = true} shows it as a dialog
/// @return nothing; a button press the handler does not answer is answered empty automatically
/// @example ctx:answer("Saved")
int ctxAnswer(lua_State* L) {
  RunState& run = runOf(L, "ctx:answer");
  ArgReader args(L, "ctx:answer", 1);
  if (run.input->update.kind != "callback_query") {
    raiseError(L, "ctx:answer: only a button press (callback_query) can be answered");
  }
  nlohmann::json params{{"callback_query_id", run.input->update.callback_id}};
  if (auto text = args.optString(1, "text")) {
    if (text->size() > 200 * 4) raiseError(L, "ctx:answer: text is longer than 200 characters");
    params["text"] = std::string(*text);
  }
  if (!args.isNone(2)) {
    const int opts = args.table(2, "opts");
    const CallbackScope nesting(L, "ctx:answer");  // opts' __index may call back into Lua
    lua_getfield(L, opts, "alert");
    if (lua_toboolean(L, -1)) params["show_alert"] = true;
    lua_pop(L, 1);
  }
  if (run.effects.answered_callback)
    raiseError(L, "ctx:answer: this button press was already answered");
  // Answer first: the user's spinner stops before anything else is sent.
  storage::OutboxMessage m{run.input->bot->name,
                           run.input->update.lane,
                           run.input->update.chat_id.value_or(0),
                           "answerCallbackQuery",
                           params.dump(),
                           "",
                           ""};
  admit(L, run, "ctx:answer", m);
  run.effects.answered_callback = true;
  run.effects.outbox.insert(run.effects.outbox.begin(), std::move(m));
  return 0;
}

/// @lua ctx:delete(target?)
/// @context update handler
/// @param target string|number|nil a handle, a message_id, or nil for the update's own message
/// @example ctx:delete(ctx.data.prompt)
int ctxDelete(lua_State* L) {
  RunState& run = runOf(L, "ctx:delete");
  ArgReader args(L, "ctx:delete", 1);
  const int64_t chat_id = replyChat(L, run, "ctx:delete");
  nlohmann::json params{{"chat_id", chat_id}};
  std::string handle;
  if (lua_type(L, args.index(1)) == LUA_TSTRING) {
    handle = std::string(stringAt(L, args.index(1)));
  } else if (!args.isNone(1)) {
    params["message_id"] = args.integer(1, "target");
  } else if (run.input->update.message_id) {
    params["message_id"] = *run.input->update.message_id;
  } else {
    raiseError(L, "ctx:delete: no message to delete");
  }
  record(L, run, "ctx:delete", chat_id, "deleteMessage", std::move(params), handle);
  return 0;
}

/// @lua ctx:go(state, ...) -> ...
/// @context update handler
/// @param state string "flow.state" to enter; its enter handler runs now with the extra arguments
/// @return whatever the enter handler returns
/// @error raises for an unknown flow or state
/// @example return ctx:go("registration.profile")
int ctxGo(lua_State* L) {
  RunState& run = runOf(L, "ctx:go");
  ArgReader args(L, "ctx:go", 1);
  const std::string state(args.string(1, "state"));
  run.effects.state = state;
  const int base = lua_gettop(L);
  run.app->app.push(L);
  lua_getfield(L, -1, "enter_state");
  if (!lua_isfunction(L, -1)) return 0;
  lua_pushvalue(L, -2);                                 // app
  for (int i = 1; i <= base; ++i) lua_pushvalue(L, i);  // ctx, state, ...
  protectedCallback(L, base + 1, LUA_MULTRET, "ctx:go");
  return lua_gettop(L) - base - 1;
}

/// @lua ctx:leave()
/// @context update handler
/// @return nothing; the conversation leaves its flow (ctx.data is kept)
/// @example ctx:leave()
int ctxLeave(lua_State* L) {
  runOf(L, "ctx:leave").effects.state = std::string();
  return 0;
}

int ctxGc(lua_State*) { return 0; }

constexpr luaL_Reg kMethods[] = {{"reply", wrap<ctxReply>},   {"send", wrap<ctxSend>},
                                 {"edit", wrap<ctxEdit>},     {"answer", wrap<ctxAnswer>},
                                 {"delete", wrap<ctxDelete>}, {"go", wrap<ctxGo>},
                                 {"leave", wrap<ctxLeave>},   {nullptr, nullptr}};

}  // namespace

void installCtxType(lua_State* L) {
  newHiddenMetatable(L, kCtxType);
  lua_pushcfunction(L, wrap<ctxIndex>);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, wrap<ctxNewIndex>);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, ctxToString);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, ctxGc);
  lua_setfield(L, -2, "__gc");
  lua_newtable(L);
  for (const luaL_Reg* r = kMethods; r->name; ++r) {
    lua_pushcfunction(L, r->func);
    lua_setfield(L, -2, r->name);
  }
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
}

void* pushCtx(lua_State* L, RunState* run) {
  auto* box = static_cast<CtxBox*>(lua_newuserdata(L, sizeof(CtxBox)));
  box->run = run;
  luaL_getmetatable(L, kCtxType);
  lua_setmetatable(L, -2);
  lua_newtable(L);
  lua_setfenv(L, -2);
  return box;
}

void killCtx(void* box) { static_cast<CtxBox*>(box)->run = nullptr; }

}  // namespace botfn::lua
