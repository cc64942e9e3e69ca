#include "telegram/update_document.hpp"

#include <simdjson.h>

namespace botfn::telegram {
namespace {

namespace dom = simdjson::dom;

// The parser only holds scratch buffers (the document keeps the result); they grow to the
// largest body parsed, so the rare big update gets a parser of its own.
constexpr size_t kSharedParserMaxBytes = 256 << 10;

simdjson::error_code parseInto(dom::document& doc, std::string_view text) {
  if (text.size() > kSharedParserMaxBytes) {
    dom::parser parser;
    return parser.parse_into_document(doc, text.data(), text.size()).error();
  }
  thread_local dom::parser parser;
  return parser.parse_into_document(doc, text.data(), text.size()).error();
}

}  // namespace

UpdateDocument::UpdateDocument() : doc_(std::make_unique<dom::document>()) {}
UpdateDocument::~UpdateDocument() = default;

dom::element UpdateDocument::root() const { return doc_->root(); }

Result<std::shared_ptr<const UpdateDocument>> UpdateDocument::parse(std::string_view text,
                                                                    int max_depth) {
  if (jsonDepth(text, max_depth) > max_depth) return fail(ErrorCode::TooDeep);
  std::shared_ptr<UpdateDocument> out(new UpdateDocument());
  const auto error = parseInto(*out->doc_, text);
  if (!error) return std::shared_ptr<const UpdateDocument>(std::move(out));
  // simdjson refuses integers beyond 64 bits, which are legal JSON: nlohmann reads them as
  // doubles, and its serialization of the value is a text simdjson accepts. Ordered, so the
  // keys keep their order (the kind is the first key after update_id).
  auto reference = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (reference.is_discarded()) return fail(ErrorCode::BadJson);
  const std::string normalized = reference.dump();
  if (parseInto(*out->doc_, normalized)) return fail(ErrorCode::BadJson);
  return std::shared_ptr<const UpdateDocument>(std::move(out));
}

std::shared_ptr<const UpdateDocument> UpdateDocument::fromJson(const nlohmann::json& value) {
  auto doc = parse(value.dump(), INT32_MAX);
  if (!doc) throw std::invalid_argument("UpdateDocument::fromJson: " + doc.error().describe());
  return *doc;
}

}  // namespace botfn::telegram
