// Update parsing: kind detection, ordering lane, command entity parsing (UTF-16 offsets).
#include "telegram/update.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>

#include "telegram/update_document.hpp"
#include "telegram/update_envelope.hpp"

namespace botfn::telegram {
namespace {

namespace dom = simdjson::dom;

constexpr std::array<std::string_view, 7> kMessageKinds = {
    "message",          "edited_message",          "channel_post", "edited_channel_post",
    "business_message", "edited_business_message", "guest_message"};

// The first content field present (in this order) names the message kind.
constexpr std::array<std::string_view, 44> kContentFields = {"text",
                                                             "photo",
                                                             "video",
                                                             "animation",
                                                             "document",
                                                             "audio",
                                                             "voice",
                                                             "video_note",
                                                             "sticker",
                                                             "contact",
                                                             "location",
                                                             "venue",
                                                             "poll",
                                                             "dice",
                                                             "game",
                                                             "invoice",
                                                             "successful_payment",
                                                             "refunded_payment",
                                                             "story",
                                                             "paid_media",
                                                             "web_app_data",
                                                             "new_chat_members",
                                                             "left_chat_member",
                                                             "new_chat_title",
                                                             "new_chat_photo",
                                                             "delete_chat_photo",
                                                             "group_chat_created",
                                                             "supergroup_chat_created",
                                                             "channel_chat_created",
                                                             "migrate_to_chat_id",
                                                             "migrate_from_chat_id",
                                                             "pinned_message",
                                                             "users_shared",
                                                             "chat_shared",
                                                             "giveaway",
                                                             "giveaway_winners",
                                                             "giveaway_created",
                                                             "forum_topic_created",
                                                             "forum_topic_edited",
                                                             "forum_topic_closed",
                                                             "forum_topic_reopened",
                                                             "video_chat_started",
                                                             "video_chat_ended",
                                                             "checklist"};

int contentRank(std::string_view key) {
  static const auto* ranks = [] {
    auto* m = new std::unordered_map<std::string_view, int>();
    for (size_t i = 0; i < kContentFields.size(); ++i)
      m->emplace(kContentFields[i], static_cast<int>(i));
    return m;
  }();
  auto it = ranks->find(key);
  return it == ranks->end() ? -1 : it->second;
}

}  // namespace

std::optional<dom::element> fieldOf(dom::element object, std::string_view key) {
  dom::object o;
  if (object.get_object().get(o)) return std::nullopt;
  std::optional<dom::element> out;
  for (auto field : o) {
    if (field.key == key) out = field.value;  // duplicate keys: the last wins
  }
  return out;
}

std::optional<int64_t> integerOf(dom::element value) {
  if (value.is_int64()) return value.get_int64().value_unsafe();
  if (value.is_uint64()) return INT64_MAX;  // as the ingress reader: ids never wrap negative
  return std::nullopt;
}

namespace {

std::optional<int64_t> integerField(dom::element object, std::string_view key) {
  auto v = fieldOf(object, key);
  return v ? integerOf(*v) : std::nullopt;
}

std::optional<int64_t> idOf(dom::element object, std::string_view key) {
  auto inner = fieldOf(object, key);
  return inner ? integerField(*inner, "id") : std::nullopt;
}

std::string stringOf(std::optional<dom::element> object, std::string_view key) {
  if (!object) return {};
  auto v = fieldOf(*object, key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string().value_unsafe());
  if (auto i = integerOf(*v)) return std::to_string(*i);
  return {};
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void parseCommand(dom::element message, std::string_view bot_username, Update& u) {
  const std::string& text = u.text;
  if (text.empty() || text[0] != '/') return;
  size_t cmd_bytes = std::string::npos;
  auto entities = fieldOf(message, u.message_kind == "text" ? "entities" : "caption_entities");
  dom::array list;
  if (entities && !entities->get_array().get(list)) {
    for (auto e : list) {
      auto type = fieldOf(e, "type");
      if (!type || !type->is_string() || type->get_string().value_unsafe() != "bot_command")
        continue;
      if (integerField(e, "offset") != 0) continue;
      cmd_bytes = utf16ToByteOffset(
          text, static_cast<size_t>(std::max<int64_t>(0, integerField(e, "length").value_or(0))));
      break;
    }
    if (cmd_bytes == std::string::npos) return;  // "/" without a command entity is plain text
  } else {
    // Entity-less legacy updates (Telegram's own curl examples): the command runs to whitespace.
    cmd_bytes = text.find_first_of(" \t\n");
    if (cmd_bytes == std::string::npos) cmd_bytes = text.size();
  }
  std::string command = text.substr(1, cmd_bytes - 1);
  if (auto at = command.find('@'); at != std::string::npos) {
    if (lower(command.substr(at + 1)) != lower(std::string(bot_username))) {
      u.command_for_other_bot = true;
      return;
    }
    command.resize(at);
  }
  if (command.empty()) return;
  u.command = lower(command);
  size_t rest = text.find_first_not_of(" \t\n", cmd_bytes);
  if (rest != std::string::npos) u.command_args = text.substr(rest);
}

void parseMessage(dom::element message, std::string_view bot_username, Update& u) {
  u.chat_id = idOf(message, "chat");
  u.user_id = idOf(message, "from");
  u.message_id = integerField(message, "message_id");
  u.chat_type = stringOf(fieldOf(message, "chat"), "type");
  u.language_code = stringOf(fieldOf(message, "from"), "language_code");
  dom::object fields;
  bool has_caption = false;
  if (!message.get_object().get(fields)) {
    int best = -1;
    for (auto field : fields) {
      const int rank = contentRank(field.key);
      if (rank >= 0 && (best < 0 || rank < best)) best = rank;
      if (field.key == "caption") has_caption = true;
    }
    if (best >= 0) u.message_kind = std::string(kContentFields[static_cast<size_t>(best)]);
  }
  if (u.message_kind == "text") {
    u.text = stringOf(message, "text");
  } else if (has_caption) {
    u.text = stringOf(message, "caption");
  }
  parseCommand(message, bot_username, u);
}

}  // namespace

bool isMessageKind(std::string_view kind) {
  return std::find(kMessageKinds.begin(), kMessageKinds.end(), kind) != kMessageKinds.end();
}

std::string_view kindLabel(std::string_view kind) {
  static constexpr std::array<std::string_view, 17> kOtherKinds = {"business_connection",
                                                                   "deleted_business_messages",
                                                                   "message_reaction",
                                                                   "message_reaction_count",
                                                                   "inline_query",
                                                                   "chosen_inline_result",
                                                                   "callback_query",
                                                                   "shipping_query",
                                                                   "pre_checkout_query",
                                                                   "purchased_paid_media",
                                                                   "poll",
                                                                   "poll_answer",
                                                                   "my_chat_member",
                                                                   "chat_member",
                                                                   "chat_join_request",
                                                                   "chat_boost",
                                                                   "removed_chat_boost"};
  if (kind.empty()) return "none";
  if (isMessageKind(kind)) return kind;
  if (std::find(kOtherKinds.begin(), kOtherKinds.end(), kind) != kOtherKinds.end()) return kind;
  return "other";
}

Result<int64_t> updateIdOf(const nlohmann::json& update) {
  if (!update.is_object()) return fail(ErrorCode::NotAnObject);
  auto it = update.find("update_id");
  if (it == update.end() || !it->is_number_integer()) return fail(ErrorCode::MissingUpdateId);
  return it->get<int64_t>();
}

size_t utf16ToByteOffset(std::string_view s, size_t units) {
  size_t i = 0;
  while (i < s.size() && units > 0) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    const size_t cost = len == 4 ? 2 : 1;  // astral code points are two UTF-16 units
    i = std::min(s.size(), i + len);
    units = units >= cost ? units - cost : 0;
  }
  return i;
}

Update parseUpdate(const UpdateDocument& doc, std::string_view bot_username) {
  const dom::element update = doc.root();
  Update u;
  u.update_id = integerField(update, "update_id").value_or(0);
  dom::object top;
  if (!update.get_object().get(top)) {
    for (auto field : top) {
      if (field.key != "update_id") {
        u.kind = std::string(field.key);
        break;
      }
    }
  }
  if (!u.kind.empty()) {
    const dom::element payload = *fieldOf(update, u.kind);
    if (isMessageKind(u.kind)) {
      parseMessage(payload, bot_username, u);
    } else if (payload.is_object()) {
      u.chat_id = idOf(payload, "chat");
      u.user_id = idOf(payload, "from");
      if (!u.user_id) u.user_id = idOf(payload, "user");
      if (!u.user_id) u.user_id = idOf(payload, "voter_chat");
      u.language_code = stringOf(fieldOf(payload, "from"), "language_code");
      u.chat_type = stringOf(fieldOf(payload, "chat"), "type");
      if (u.kind == "callback_query") {
        u.callback_id = stringOf(payload, "id");
        u.callback_data = stringOf(payload, "data");
        if (auto msg = fieldOf(payload, "message"); msg && msg->is_object()) {
          u.chat_id = idOf(*msg, "chat");
          if (auto chat = fieldOf(*msg, "chat")) u.chat_type = stringOf(chat, "type");
          u.message_id = integerField(*msg, "message_id");
        }
      }
    }
  }
  u.lane = laneOf(u.chat_id, u.user_id);
  return u;
}

Update parseUpdateValue(const nlohmann::json& update, std::string_view bot_username) {
  return parseUpdate(*UpdateDocument::fromJson(update), bot_username);
}

}  // namespace botfn::telegram
