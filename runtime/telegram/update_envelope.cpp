// Two readers of the same rules: simdjson (validates at gigabytes per second, then the few
// fields are read from its tape) and a nlohmann SAX handler that tracks the key path of the
// current value. The SAX reader is the reference: it decides every body simdjson refuses, so the
// accept/reject rules stay exactly the nlohmann ones (simdjson also refuses integers beyond 64
// bits, which are legal JSON and get 200).
#include "telegram/update_envelope.hpp"

#include <simdjson.h>

#include <array>
#include <nlohmann/json.hpp>

#include "telegram/update_document.hpp"

namespace botfn::telegram {
namespace {

using json = nlohmann::json;

class EnvelopeSax {
 public:
  explicit EnvelopeSax(int max_depth) : max_depth_(max_depth) {}

  bool null() { return value(); }
  bool boolean(bool) { return value(); }
  bool number_integer(json::number_integer_t v) { return integer(v); }
  bool number_unsigned(json::number_unsigned_t v) {
    return integer(v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v));
  }
  bool number_float(json::number_float_t, const json::string_t&) { return value(); }
  bool string(json::string_t&) { return value(); }
  bool binary(json::binary_t&) { return value(); }

  bool start_object(std::size_t) {
    if (depth_ == 0) top_is_object_ = true;
    return enter();
  }
  bool end_object() { return leave(); }
  bool start_array(std::size_t) { return enter(); }  // a top-level array fails at the end

  bool end_array() { return leave(); }

  bool key(json::string_t& k) {
    if (depth_ <= kTracked) keys_[static_cast<size_t>(depth_ - 1)] = k;
    if (depth_ == 1 && k != "update_id" && envelope.kind.empty()) envelope.kind = k;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    if (code_ == ErrorCode::Ok) code_ = ErrorCode::BadJson;
    return false;
  }

  Envelope envelope;
  ErrorCode code() const { return code_; }
  bool topIsObject() const { return top_is_object_; }
  bool hasUpdateId() const { return has_update_id_; }
  bool updateIdWrongType() const { return update_id_wrong_type_; }

 private:
  static constexpr int kTracked = 4;  // callback_query.message.chat.id is 4 keys deep

  bool enter() {
    if (++depth_ > max_depth_) return fail(ErrorCode::TooDeep);
    if (depth_ <= kTracked) keys_[static_cast<size_t>(depth_ - 1)].clear();
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }
  bool fail(ErrorCode code) {
    code_ = code;
    return false;
  }
  bool value() {
    if (depth_ == 0) return fail(ErrorCode::NotAnObject);
    if (depth_ == 1 && keys_[0] == "update_id") update_id_wrong_type_ = true;
    return true;
  }
  bool integer(int64_t v) {
    if (depth_ == 0) return fail(ErrorCode::NotAnObject);
    if (depth_ == 1) {
      if (keys_[0] == "update_id") {
        envelope.update_id = v;
        has_update_id_ = true;
      }
      return true;
    }
    if (envelope.kind.empty() || keys_[0] != envelope.kind) return true;
    // Same rules as parseUpdate: the chat of the payload (for button presses, of their message),
    // the sender (from, else user, else voter_chat).
    if (depth_ == 3 && keys_[2] == "id") {
      if (keys_[1] == "chat" && envelope.kind != "callback_query") envelope.chat_id = v;
      if (keys_[1] == "from") from_ = v;
      if (keys_[1] == "user") user_ = v;
      if (keys_[1] == "voter_chat") voter_ = v;
    } else if (depth_ == 4 && envelope.kind == "callback_query" && keys_[1] == "message" &&
               keys_[2] == "chat" && keys_[3] == "id") {
      envelope.chat_id = v;
    }
    envelope.user_id = from_ ? from_ : user_ ? user_ : voter_;
    return true;
  }

  int max_depth_;
  int depth_ = 0;
  std::array<std::string, kTracked> keys_;
  ErrorCode code_ = ErrorCode::Ok;
  bool top_is_object_ = false;
  bool has_update_id_ = false;
  bool update_id_wrong_type_ = false;
  std::optional<int64_t> from_, user_, voter_;
};

}  // namespace

std::string laneOf(const std::optional<int64_t>& chat_id, const std::optional<int64_t>& user_id) {
  if (chat_id) return "c" + std::to_string(*chat_id);
  if (user_id) return "u" + std::to_string(*user_id);
  return "bot";
}

Result<Envelope> parseEnvelopeReference(std::string_view body, int max_depth) {
  EnvelopeSax sax(max_depth);
  const bool ok = json::sax_parse(body.begin(), body.end(), &sax, json::input_format_t::json, true);
  if (!ok || sax.code() != ErrorCode::Ok) {
    return fail(sax.code() == ErrorCode::Ok ? ErrorCode::BadJson : sax.code());
  }
  if (!sax.topIsObject()) return fail(ErrorCode::NotAnObject);
  if (!sax.hasUpdateId() || sax.updateIdWrongType()) return fail(ErrorCode::MissingUpdateId);
  Envelope e = std::move(sax.envelope);
  e.lane = laneOf(e.chat_id, e.user_id);
  return e;
}

}  // namespace botfn::telegram

namespace botfn::telegram {
namespace {

namespace dom = simdjson::dom;

// The last integer "id" of an object (duplicate keys: the last one wins, as in the SAX pass).
void idOf(dom::element v, std::optional<int64_t>& out) {
  dom::object o;
  if (v.get_object().get(o)) return;
  for (auto field : o) {
    if (field.key == "id") {
      if (auto id = integerOf(field.value)) out = id;
    }
  }
}

// The body as a DOM, or nullopt when simdjson refuses it (the reference reader then decides).
std::optional<Envelope> fastEnvelope(std::string_view body, int max_depth) {
  // A parser keeps memory for the largest document it saw (about 10x its size) per server thread;
  // the rare big update takes the reference reader instead.
  constexpr size_t kFastPathMaxBytes = 256 << 10;
  if (body.size() > kFastPathMaxBytes) return std::nullopt;
  thread_local dom::parser parser;
  thread_local int allocated_depth = 0;
  if (allocated_depth != max_depth || parser.capacity() < body.size()) {
    if (parser.allocate(std::max(body.size(), parser.capacity()), static_cast<size_t>(max_depth))) {
      return std::nullopt;
    }
    allocated_depth = max_depth;
  }
  dom::element root;
  if (parser.parse(body.data(), body.size()).get(root)) return std::nullopt;
  dom::object top;
  if (root.get_object().get(top)) return std::nullopt;
  Envelope e;
  bool has_update_id = false;
  for (auto field : top) {
    if (field.key == "update_id") {
      auto id = integerOf(field.value);
      if (!id) return std::nullopt;  // wrong type: the reference reader names the error
      e.update_id = *id;
      has_update_id = true;
    } else if (e.kind.empty()) {
      e.kind = std::string(field.key);
    }
  }
  if (!has_update_id) return std::nullopt;
  std::optional<int64_t> from, user, voter;
  for (auto field : top) {
    if (e.kind.empty() || field.key != e.kind) continue;
    dom::object payload;
    if (field.value.get_object().get(payload)) continue;
    for (auto inner : payload) {
      if (inner.key == "chat" && e.kind != "callback_query") idOf(inner.value, e.chat_id);
      if (inner.key == "from") idOf(inner.value, from);
      if (inner.key == "user") idOf(inner.value, user);
      if (inner.key == "voter_chat") idOf(inner.value, voter);
      if (inner.key == "message" && e.kind == "callback_query") {
        dom::object message;
        if (inner.value.get_object().get(message)) continue;
        for (auto m : message) {
          if (m.key == "chat") idOf(m.value, e.chat_id);
        }
      }
    }
  }
  e.user_id = from ? from : user ? user : voter;
  e.lane = laneOf(e.chat_id, e.user_id);
  return e;
}

}  // namespace

Result<Envelope> parseEnvelope(std::string_view body, int max_depth) {
  if (auto fast = fastEnvelope(body, max_depth)) return std::move(*fast);
  return parseEnvelopeReference(body, max_depth);
}

}  // namespace botfn::telegram
