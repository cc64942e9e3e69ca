// Implementation of the string helpers declared in text_utils.hpp (UTF-8 walking tolerates
// invalid bytes by counting each as one character).
#include "text_utils.hpp"

#include <charconv>
#include <chrono>

namespace botfn::fake_telegram {

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && toLower(a) == toLower(b);
}

static int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string urlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseUrlEncoded(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    if (amp == std::string_view::npos) amp = s.size();
    std::string_view part = s.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(urlDecode(part), "");
      } else {
        out.emplace_back(urlDecode(part.substr(0, eq)), urlDecode(part.substr(eq + 1)));
      }
    }
    pos = amp + 1;
  }
  return out;
}

// Length of the UTF-8 sequence starting with lead byte c, or 0 if c cannot start one.
static size_t sequenceLength(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 0;
}

// Calls fn(unitsInUtf16) for each decoded code point.
template <typename Fn>
static void forEachCodePoint(std::string_view s, Fn fn) {
  size_t i = 0;
  while (i < s.size()) {
    size_t len = sequenceLength(static_cast<unsigned char>(s[i]));
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (!valid) {
      fn(1);
      i += 1;
      continue;
    }
    fn(len == 4 ? 2 : 1);
    i += len;
  }
}

size_t codePointCount(std::string_view utf8) {
  size_t n = 0;
  forEachCodePoint(utf8, [&](size_t) { ++n; });
  return n;
}

size_t utf16Length(std::string_view utf8) {
  size_t n = 0;
  forEachCodePoint(utf8, [&](size_t units) { n += units; });
  return n;
}

bool isBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') return false;
  }
  return true;
}

std::optional<int64_t> parseInt64(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

double unixTimeNow() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
}

int64_t unixSecondsNow() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace botfn::fake_telegram
