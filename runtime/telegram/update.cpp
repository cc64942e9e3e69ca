// Update parsing: kind detection, ordering lane, command entity parsing (UTF-16 offsets).
#include "telegram/update.hpp"
#include "telegram/update_envelope.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace botfn::telegram {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kMessageKinds = {
    "message",          "edited_message",          "channel_post", "edited_channel_post",
    "business_message", "edited_business_message", "guest_message"};

// Checked in order: the first content field present names the message kind.
constexpr std::array<std::string_view, 44> kContentFields = {
    "text", "photo", "video", "animation", "document", "audio", "voice", "video_note",
    "sticker", "contact", "location", "venue", "poll", "dice", "game", "invoice",
    "successful_payment", "refunded_payment", "story", "paid_media", "web_app_data",
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
    "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
    "channel_chat_created", "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message",
    "users_shared", "chat_shared", "giveaway", "giveaway_winners", "giveaway_created",
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "video_chat_started", "video_chat_ended", "checklist"};

std::optional<int64_t> idOf(const json& obj, std::string_view key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return std::nullopt;
  auto id = it->find("id");
  if (id == it->end() || !id->is_number_integer()) return std::nullopt;
  return id->get<int64_t>();
}

std::string stringOf(const json& obj, std::string_view key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void parseCommand(const json& message, std::string_view bot_username, Update& u) {
  const std::string& text = u.text;
  if (text.empty() || text[0] != '/') return;
  size_t cmd_bytes = std::string::npos;
  auto entities = message.find(u.message_kind == "text" ? "entities" : "caption_entities");
  if (entities != message.end() && entities->is_array()) {
    for (const auto& e : *entities) {
      if (e.value("type", "") == "bot_command" && e.value("offset", -1) == 0) {
        cmd_bytes = utf16ToByteOffset(text, e.value("length", 0));
        break;
      }
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

void parseMessage(const json& message, std::string_view bot_username, Update& u) {
  u.chat_id = idOf(message, "chat");
  u.user_id = idOf(message, "from");
  if (auto mid = message.find("message_id"); mid != message.end() && mid->is_number_integer()) {
    u.message_id = mid->get<int64_t>();
  }
  if (auto chat = message.find("chat"); chat != message.end()) u.chat_type = stringOf(*chat, "type");
  if (auto from = message.find("from"); from != message.end()) {
    u.language_code = stringOf(*from, "language_code");
  }
  for (auto field : kContentFields) {
    if (message.contains(field)) {
      u.message_kind = std::string(field);
      break;
    }
  }
  if (u.message_kind == "text") {
    u.text = stringOf(message, "text");
  } else if (message.contains("caption")) {
    u.text = stringOf(message, "caption");
  }
  parseCommand(message, bot_username, u);
}

}  // namespace

bool isMessageKind(std::string_view kind) {
  return std::find(kMessageKinds.begin(), kMessageKinds.end(), kind) != kMessageKinds.end();
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

Update parseUpdate(const nlohmann::json& update, std::string_view bot_username) {
  Update u;
  u.update_id = update.value("update_id", int64_t{0});
  for (auto it = update.begin(); it != update.end(); ++it) {
    if (it.key() != "update_id") {
      u.kind = it.key();
      break;
    }
  }
  if (!u.kind.empty()) {
    const json& payload = update[u.kind];
    if (isMessageKind(u.kind)) {
      parseMessage(payload, bot_username, u);
    } else if (payload.is_object()) {
      u.chat_id = idOf(payload, "chat");
      u.user_id = idOf(payload, "from");
      if (!u.user_id) u.user_id = idOf(payload, "user");
      if (!u.user_id) u.user_id = idOf(payload, "voter_chat");
      if (auto from = payload.find("from"); from != payload.end()) {
        u.language_code = stringOf(*from, "language_code");
      }
      if (auto chat = payload.find("chat"); chat != payload.end()) {
        u.chat_type = stringOf(*chat, "type");
      }
      if (u.kind == "callback_query") {
        u.callback_id = stringOf(payload, "id");
        u.callback_data = stringOf(payload, "data");
        if (auto msg = payload.find("message"); msg != payload.end() && msg->is_object()) {
          u.chat_id = idOf(*msg, "chat");
          if (auto chat = msg->find("chat"); chat != msg->end()) u.chat_type = stringOf(*chat, "type");
          if (auto mid = msg->find("message_id"); mid != msg->end() && mid->is_number_integer()) {
            u.message_id = mid->get<int64_t>();
          }
        }
      }
    }
  }
  u.lane = laneOf(u.chat_id, u.user_id);
  return u;
}

}  // namespace botfn::telegram
