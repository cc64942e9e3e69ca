// parse_mode=HTML parser used by parseFormattedText: the tag set documented by the Bot API,
// named entities &lt; &gt; &amp; &quot; and numeric entities.
#include <cstdint>
#include <map>

#include "entity_builder.hpp"

namespace botfn::fake_telegram {
namespace {

using detail::Builder;
using detail::fail;
using detail::OpenEntity;

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes one &...; entity at s[i]; returns the number of bytes consumed (0: not an entity).
size_t decodeEntity(const std::string& s, size_t i, std::string& out) {
  size_t semi = s.find(';', i);
  if (semi == std::string::npos || semi - i > 10) return 0;
  std::string name = s.substr(i + 1, semi - i - 1);
  static const std::map<std::string, char> kNamed = {
      {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}};
  if (auto it = kNamed.find(name); it != kNamed.end()) {
    out.push_back(it->second);
    return semi - i + 1;
  }
  if (name.size() >= 2 && name[0] == '#') {
    bool hex = name[1] == 'x' || name[1] == 'X';
    std::string digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    uint32_t cp = 0;
    for (char d : digits) {
      int v = (d >= '0' && d <= '9')          ? d - '0'
              : hex && (d >= 'a' && d <= 'f') ? d - 'a' + 10
              : hex && (d >= 'A' && d <= 'F') ? d - 'A' + 10
                                              : -1;
      if (v < 0 || cp > 0x10FFFF) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
    }
    if (cp == 0 || cp > 0x10FFFF) return 0;
    appendUtf8(out, cp);
    return semi - i + 1;
  }
  return 0;
}

// Parses attributes of a start tag: name="value" or name='value' or bare name.
std::map<std::string, std::string> parseAttributes(const std::string& text) {
  std::map<std::string, std::string> attrs;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t nameStart = i;
    while (i < text.size() && text[i] != '=' && text[i] != ' ') ++i;
    std::string name = toLower(text.substr(nameStart, i - nameStart));
    std::string value;
    if (i < text.size() && text[i] == '=') {
      ++i;
      char quote = i < text.size() ? text[i] : ' ';
      if (quote == '"' || quote == '\'') {
        size_t end = text.find(quote, i + 1);
        if (end == std::string::npos) end = text.size();
        std::string raw = text.substr(i + 1, end - i - 1);
        for (size_t k = 0; k < raw.size(); ++k) {
          size_t used = raw[k] == '&' ? decodeEntity(raw, k, value) : 0;
          if (used == 0)
            value.push_back(raw[k]);
          else
            k += used - 1;
        }
        i = end + 1;
      } else {
        size_t end = text.find(' ', i);
        if (end == std::string::npos) end = text.size();
        value = text.substr(i, end - i);
        i = end;
      }
    }
    if (!name.empty()) attrs[name] = value;
  }
  return attrs;
}

// Maps a start tag to an entity type; empty when the tag is not supported.
std::string entityTypeForTag(const std::string& tag, std::map<std::string, std::string>& attrs,
                             Json& extra) {
  if (tag == "b" || tag == "strong") return "bold";
  if (tag == "i" || tag == "em") return "italic";
  if (tag == "u" || tag == "ins") return "underline";
  if (tag == "s" || tag == "strike" || tag == "del") return "strikethrough";
  if (tag == "tg-spoiler") return "spoiler";
  if (tag == "span") return attrs["class"] == "tg-spoiler" ? "spoiler" : "";
  if (tag == "code") return "code";
  if (tag == "pre") return "pre";
  if (tag == "blockquote")
    return attrs.count("expandable") ? "expandable_blockquote" : "blockquote";
  if (tag == "a") {
    extra["url"] = attrs["href"];
    return "text_link";
  }
  if (tag == "tg-emoji") {
    extra["custom_emoji_id"] = attrs["emoji-id"];
    return "custom_emoji";
  }
  return "";
}

}  // namespace

bool parseHtmlText(const std::string& s, FormattedText& result, std::string& error) {
  Builder b;
  std::vector<OpenEntity> stack;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '&') {
      size_t used = decodeEntity(s, i, b.out);
      if (used == 0)
        b.out.push_back('&');
      else
        i += used - 1;
      continue;
    }
    if (c != '<') {
      b.out.push_back(c);
      continue;
    }
    size_t close = s.find('>', i);
    if (close == std::string::npos) {
      error = fail("Unclosed start tag at byte offset " + std::to_string(i));
      return false;
    }
    std::string inner = s.substr(i + 1, close - i - 1);
    if (!inner.empty() && inner[0] == '/') {
      std::string name = toLower(inner.substr(1));
      while (!name.empty() && name.back() == ' ') name.pop_back();
      if (stack.empty() || (!name.empty() && stack.back().token != name)) {
        std::string expected = stack.empty() ? "" : "expected \"</" + stack.back().token + ">\", ";
        error = fail("Unmatched end tag at byte offset " + std::to_string(i) + ", " + expected +
                     "found \"</" + name + ">\"");
        return false;
      }
      OpenEntity e = std::move(stack.back());
      stack.pop_back();
      // <pre><code class="language-x"> gives the pre entity a language instead of a code entity.
      if (e.type == "code" && !stack.empty() && stack.back().type == "pre" &&
          e.extra.contains("language")) {
        stack.back().extra["language"] = e.extra["language"];
      } else {
        e.extra.erase("language");
        b.add(e, b.out.size());
      }
      i = close;
      continue;
    }
    size_t nameEnd = inner.find(' ');
    std::string tag = toLower(inner.substr(0, nameEnd));
    auto attrs = parseAttributes(nameEnd == std::string::npos ? "" : inner.substr(nameEnd + 1));
    Json extra = Json::object();
    std::string type = entityTypeForTag(tag, attrs, extra);
    if (type.empty()) {
      error = fail("Unsupported start tag \"" + tag + "\" at byte offset " + std::to_string(i));
      return false;
    }
    if (tag == "code" && attrs["class"].rfind("language-", 0) == 0) {
      extra["language"] = attrs["class"].substr(9);
    }
    stack.push_back(OpenEntity{type, tag, b.out.size(), i, extra});
    i = close;
  }
  if (!stack.empty()) {
    error = fail("Can't find end tag corresponding to start tag \"" + stack.back().token + "\"");
    return false;
  }
  b.finish(result);
  return true;
}

}  // namespace botfn::fake_telegram
