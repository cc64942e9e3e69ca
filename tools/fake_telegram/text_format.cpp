// MarkdownV2 / HTML / Markdown parsers behind parseFormattedText (see text_format.hpp). They cover
// the documented syntax; rare corner cases of Telegram's parser are not reproduced.
#include "text_format.hpp"

#include <algorithm>
#include <vector>

#include "entity_builder.hpp"
#include "text_utils.hpp"

namespace botfn::fake_telegram {
namespace {

using detail::Builder;
using detail::fail;
using detail::OpenEntity;

void addLinkEntity(Builder& b, size_t start, const std::string& url) {
  OpenEntity e;
  e.start = start;
  if (url.rfind("tg://emoji?id=", 0) == 0) {
    e.type = "custom_emoji";
    e.extra["custom_emoji_id"] = url.substr(14);
  } else {
    e.type = "text_link";
    e.extra["url"] = url;
  }
  b.add(e, b.out.size());
}

bool parseMarkdownV2(const std::string& s, FormattedText& result, std::string& error) {
  static const std::string kReserved = "_*[]()~`>#+-=|{}.!";
  Builder b;
  std::vector<OpenEntity> stack;
  OpenEntity quote;
  bool inQuote = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool lineStart = i == 0 || s[i - 1] == '\n';
    if (inQuote && lineStart && c != '>') {
      b.add(quote, b.out.size() > 0 && b.out.back() == '\n' ? b.out.size() - 1 : b.out.size());
      inQuote = false;
    }
    bool inCode = !stack.empty() && (stack.back().type == "code" || stack.back().type == "pre");
    if (c == '\\' && i + 1 < s.size() && s[i + 1] > 0 && s[i + 1] <= 126) {
      b.out.push_back(s[++i]);
      continue;
    }
    if (inCode) {
      const std::string& tok = stack.back().token;
      if (s.compare(i, tok.size(), tok) == 0) {
        b.add(stack.back(), b.out.size());
        stack.pop_back();
        i += tok.size() - 1;
      } else {
        b.out.push_back(c);
      }
      continue;
    }
    if (kReserved.find(c) == std::string::npos) {
      b.out.push_back(c);
      continue;
    }
    if (c == '>' && lineStart) {
      if (!inQuote) {
        quote = OpenEntity{"blockquote", "", b.out.size(), i, Json::object()};
        inQuote = true;
      }
      continue;
    }
    if (c == ']' && !stack.empty() && stack.back().token == "]") {
      if (i + 1 >= s.size() || s[i + 1] != '(') {
        error = fail("Can't find end of a URL at byte offset " + std::to_string(i + 1));
        return false;
      }
      std::string url;
      size_t j = i + 2;
      for (; j < s.size() && s[j] != ')'; ++j) {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        url.push_back(s[j]);
      }
      if (j >= s.size()) {
        error = fail("Can't find end of a URL at byte offset " + std::to_string(i + 1));
        return false;
      }
      addLinkEntity(b, stack.back().start, url);
      stack.pop_back();
      i = j;
      continue;
    }
    std::string token(1, c);
    std::string type;
    if (c == '_' && i + 1 < s.size() && s[i + 1] == '_') {
      token = "__", type = "underline";
    } else if (c == '_') {
      type = "italic";
    } else if (c == '*') {
      type = "bold";
    } else if (c == '~') {
      type = "strikethrough";
    } else if (c == '|' && i + 1 < s.size() && s[i + 1] == '|') {
      token = "||", type = "spoiler";
    } else if (c == '`') {
      type = "code";
      if (s.compare(i, 3, "```") == 0) token = "```", type = "pre";
    } else if (c == '[' || (c == '!' && i + 1 < s.size() && s[i + 1] == '[')) {
      token = "]", type = "link";
      if (c == '!') ++i;
    }
    if (type.empty()) {
      error = fail(std::string("Character '") + c +
                   "' is reserved and must be escaped with the preceding '\\'");
      return false;
    }
    if (!stack.empty() && stack.back().token == token && type != "link") {
      b.add(stack.back(), b.out.size());
      stack.pop_back();
      i += token.size() - 1;
      continue;
    }
    OpenEntity e{type, token, b.out.size(), i, Json::object()};
    i += token.size() - 1;
    if (type == "pre") {
      size_t nl = s.find('\n', i + 1);
      std::string lang = nl == std::string::npos ? "" : s.substr(i + 1, nl - i - 1);
      if (!lang.empty() && lang.find_first_of(" `") == std::string::npos) {
        e.extra["language"] = lang;
        i = nl;
      } else if (nl == i + 1) {
        i = nl;
      }
    }
    stack.push_back(std::move(e));
  }
  if (!stack.empty()) {
    error = fail("Can't find end of the entity starting at byte offset " +
                 std::to_string(stack.back().sourceOffset));
    return false;
  }
  if (inQuote) b.add(quote, b.out.size());
  b.finish(result);
  return true;
}

bool parseMarkdownLegacy(const std::string& s, FormattedText& result, std::string& error) {
  Builder b;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && std::string("_*`[").find(s[i + 1]) != std::string::npos) {
      b.out.push_back(s[++i]);
      continue;
    }
    std::string type, end;
    if (c == '*') type = "bold", end = "*";
    if (c == '_') type = "italic", end = "_";
    if (c == '`')
      type = s.compare(i, 3, "```") == 0 ? "pre" : "code", end = type == "pre" ? "```" : "`";
    if (c == '[') type = "link", end = "]";
    if (type.empty()) {
      b.out.push_back(c);
      continue;
    }
    size_t contentStart = i + end.size();
    size_t close = s.find(end, contentStart);
    if (close == std::string::npos) {
      error = fail("Can't find end of the entity starting at byte offset " + std::to_string(i));
      return false;
    }
    OpenEntity e{type, end, b.out.size(), i, Json::object()};
    b.out.append(s, contentStart, close - contentStart);
    i = close + end.size() - 1;
    if (type == "link") {
      size_t urlEnd = i + 1 < s.size() && s[i + 1] == '(' ? s.find(')', i + 2) : std::string::npos;
      if (urlEnd == std::string::npos) {
        error = fail("Can't find end of a URL at byte offset " + std::to_string(i + 1));
        return false;
      }
      addLinkEntity(b, e.start, s.substr(i + 2, urlEnd - i - 2));
      i = urlEnd;
      continue;
    }
    b.add(e, b.out.size());
  }
  b.finish(result);
  return true;
}

}  // namespace

bool parseHtmlText(const std::string& s, FormattedText& result, std::string& error);

bool parseFormattedText(const std::string& source, const std::string& mode, FormattedText& out,
                        std::string& error) {
  std::string m = toLower(mode);
  if (m.empty()) {
    out.text = source;
    out.entities = Json::array();
    return true;
  }
  if (m == "markdownv2") return parseMarkdownV2(source, out, error);
  if (m == "markdown") return parseMarkdownLegacy(source, out, error);
  if (m == "html") return parseHtmlText(source, out, error);
  error = "Bad Request: unsupported parse_mode";
  return false;
}

}  // namespace botfn::fake_telegram
