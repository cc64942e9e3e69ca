// The pattern matcher behind the sandbox's string.find/match/gmatch/gsub: a backtracking
// interpreter of Lua 5.1 patterns that charges every item attempt and scanned character to a step
// counter and polls the run's budget through PollFn. Used only by pattern_lib.cpp.
#include "lua/pattern_match.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

namespace botfn::lua::pattern {

namespace {

// ---- Character classes (ASCII only, like LuaJIT: the locale never changes what %a means) -----

enum : std::uint16_t {
  kAlpha = 1 << 0,
  kDigit = 1 << 1,
  kLower = 1 << 2,
  kUpper = 1 << 3,
  kSpace = 1 << 4,
  kCntrl = 1 << 5,
  kPunct = 1 << 6,
  kXdigit = 1 << 7,
  kGraph = 1 << 8,
  kZero = 1 << 9,
  kNegate = 1 << 15,  // in a class spec only: an upper-case letter means the complement
};

constexpr std::array<std::uint16_t, 256> makeCharBits() {
  std::array<std::uint16_t, 256> bits{};
  for (int c = 0; c < 256; ++c) {
    std::uint16_t b = 0;
    const bool lower = c >= 'a' && c <= 'z';
    const bool upper = c >= 'A' && c <= 'Z';
    const bool digit = c >= '0' && c <= '9';
    if (lower) b |= kLower | kAlpha;
    if (upper) b |= kUpper | kAlpha;
    if (digit) b |= kDigit;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) b |= kXdigit;
    if (c == ' ' || (c >= '\t' && c <= '\r')) b |= kSpace;
    if (c < 32 || c == 127) b |= kCntrl;
    if (c > 32 && c < 127) b |= kGraph;
    if (c > 32 && c < 127 && !lower && !upper && !digit) b |= kPunct;
    if (c == 0) b |= kZero;
    bits[c] = b;
  }
  return bits;
}

// What `%<letter>` stands for; 0 for letters that are no class (they match themselves).
constexpr std::array<std::uint16_t, 256> makeClassSpecs() {
  std::array<std::uint16_t, 256> specs{};
  constexpr struct {
    char letter;
    std::uint16_t mask;
  } kClasses[] = {{'a', kAlpha},          {'c', kCntrl},  {'d', kDigit}, {'g', kGraph},
                  {'l', kLower},          {'p', kPunct},  {'s', kSpace}, {'u', kUpper},
                  {'w', kAlpha | kDigit}, {'x', kXdigit}, {'z', kZero}};
  for (const auto& cls : kClasses) {
    specs[static_cast<unsigned char>(cls.letter)] = cls.mask;
    specs[static_cast<unsigned char>(cls.letter - 'a' + 'A')] = cls.mask | kNegate;
  }
  return specs;
}

constexpr auto kCharBits = makeCharBits();
constexpr auto kClassSpecs = makeClassSpecs();

[[gnu::always_inline]] inline bool classMatch(unsigned char c, unsigned char letter) noexcept {
  const std::uint16_t spec = kClassSpecs[letter];
  if (spec == 0) return c == letter;
  const bool in = (kCharBits[c] & spec & ~kNegate) != 0;
  return (spec & kNegate) ? !in : in;
}

// `[` at p, its closing `]` at close: members are %classes, ranges a-z and single characters.
bool setMatch(unsigned char c, const char* p, const char* close) noexcept {
  bool negate = false;
  ++p;
  if (*p == '^') {
    negate = true;
    ++p;
  }
  for (; p < close; ++p) {
    const auto first = static_cast<unsigned char>(*p);
    if (first == '%') {
      ++p;
      if (classMatch(c, static_cast<unsigned char>(*p))) return !negate;
    } else if (p[1] == '-' && p + 2 < close) {
      if (first <= c && c <= static_cast<unsigned char>(p[2])) return !negate;
      p += 2;
    } else if (first == c) {
      return !negate;
    }
  }
  return negate;
}

// How many of the first `limit` characters of s match the single-character item [p, ep).
std::ptrdiff_t countRun(const char* s, std::ptrdiff_t limit, const char* p,
                        const char* ep) noexcept {
  std::ptrdiff_t n = 0;
  switch (*p) {
    case '.':
      return limit;
    case '%': {
      const auto letter = static_cast<unsigned char>(p[1]);
      const std::uint16_t spec = kClassSpecs[letter];
      if (spec == 0) {
        while (n < limit && static_cast<unsigned char>(s[n]) == letter) ++n;
      } else if (spec & kNegate) {
        const std::uint16_t mask = spec & ~kNegate;
        while (n < limit && (kCharBits[static_cast<unsigned char>(s[n])] & mask) == 0) ++n;
      } else {
        while (n < limit && (kCharBits[static_cast<unsigned char>(s[n])] & spec) != 0) ++n;
      }
      return n;
    }
    case '[':
      while (n < limit && setMatch(static_cast<unsigned char>(s[n]), p, ep - 1)) ++n;
      return n;
    default:
      while (n < limit && s[n] == *p) ++n;
      return n;
  }
}

// Characters that make find() treat its pattern as a pattern (LuaJIT's list).
constexpr std::array<bool, 256> makeSpecials() {
  std::array<bool, 256> specials{};
  for (const char c : std::string_view("^$*+?.([%-"))
    specials[static_cast<unsigned char>(c)] = true;
  return specials;
}

constexpr auto kSpecials = makeSpecials();

// Short patterns are the rule: a plain loop beats the call into strnlen.
const char* cStringEnd(const char* p, std::size_t len) noexcept {
  const char* end = p + len;
  while (p < end && *p != '\0') ++p;
  return p;
}

// memchr/memrchr, without the call for the short spans that are the rule between pattern items.
inline const char* findByte(const char* s, std::ptrdiff_t len, int c) noexcept {
  if (len > 32) return static_cast<const char*>(std::memchr(s, c, static_cast<std::size_t>(len)));
  for (std::ptrdiff_t i = 0; i < len; ++i) {
    if (static_cast<unsigned char>(s[i]) == c) return s + i;
  }
  return nullptr;
}

inline const char* findLastByte(const char* s, std::ptrdiff_t len, int c) noexcept {
  if (len > 32) return static_cast<const char*>(::memrchr(s, c, static_cast<std::size_t>(len)));
  for (std::ptrdiff_t i = len - 1; i >= 0; --i) {
    if (static_cast<unsigned char>(s[i]) == c) return s + i;
  }
  return nullptr;
}

}  // namespace

const char* failureMessage(Failure failure) noexcept {
  switch (failure) {
    case Failure::None:
      return "no failure";
    case Failure::EndsWithPercent:
      return "malformed pattern (ends with '%')";
    case Failure::MissingBracket:
      return "malformed pattern (missing ']')";
    case Failure::MissingFrontierBracket:
      return "missing '[' after '%f' in pattern";
    case Failure::Unbalanced:
      return "unbalanced pattern";
    case Failure::InvalidPatternCapture:
      return "invalid pattern capture";
    case Failure::InvalidCaptureIndex:
      return "invalid capture index";
    case Failure::UnfinishedCapture:
      return "unfinished capture";
    case Failure::TooManyCaptures:
      return "too many captures";
    case Failure::TooComplex:
      return "pattern too complex";
    case Failure::BudgetSpent:
      return "sandbox: CPU budget exceeded";
  }
  return "pattern error";
}

bool hasSpecials(const char* pattern, std::size_t len) noexcept {
  for (std::size_t i = 0; i < len; ++i) {
    if (kSpecials[static_cast<unsigned char>(pattern[i])]) return true;
  }
  return false;
}

const char* findPlain(const char* text, std::size_t n, const char* needle, std::size_t m) noexcept {
  if (m == 0) return text;
  if (m > n) return nullptr;
  if (m == 1) return findByte(text, static_cast<std::ptrdiff_t>(n), needle[0]);
  if (n <= 64) {  // at most 64 x 64 comparisons: no call overhead, no bound needed
    for (std::size_t i = 0; i + m <= n; ++i) {
      std::size_t j = 0;
      while (j < m && text[i + j] == needle[j]) ++j;
      if (j == m) return text + i;
    }
    return nullptr;
  }
  // memchr for the first byte and memcmp for the rest is the fastest on short texts, but it is
  // quadratic at worst: past a bound on the work, the linear memmem (two-way) takes over.
  const char* lastStart = text + (n - m);
  const std::size_t workLimit = 4 * n + 256;
  std::size_t work = 0;
  for (const char* at = text; at <= lastStart; ++at) {
    at = static_cast<const char*>(
        std::memchr(at, needle[0], static_cast<std::size_t>(lastStart - at) + 1));
    if (at == nullptr) return nullptr;
    if (std::memcmp(at + 1, needle + 1, m - 1) == 0) return at;
    work += m;
    if (work > workLimit) {
      return static_cast<const char*>(
          ::memmem(at + 1, static_cast<std::size_t>(text + n - (at + 1)), needle, m));
    }
  }
  return nullptr;
}

Matcher::Matcher(const char* subject, std::size_t subjectLen, const char* pattern,
                 std::size_t patternLen, PollFn poll, void* pollArg) noexcept
    : subject_(subject),
      subjectEnd_(subject + subjectLen),
      pattern_(pattern),
      // Lua 5.1 patterns are C strings: the first NUL ends the pattern.
      patternEnd_(cStringEnd(pattern, patternLen)),
      poll_(poll),
      pollArg_(pollArg) {}

void Matcher::poll() {
  if (poll_ != nullptr && !poll_(pollArg_)) throw Failure::BudgetSpent;
  steps_ = kStepsPerPoll;
}

bool Matcher::search(std::size_t from, bool anchored) noexcept {
  failure_ = Failure::None;
  const char* s = subject_ + from;
  try {
    // A pattern that starts with a character it must match can only match where that character
    // is: a byte search finds a literal, a scan finds a class; other positions are never tried.
    // Short subjects skip the set-up: trying each position is as cheap there.
    const bool filter = !anchored && subjectEnd_ - s > 16;
    if (filter && !prefilterReady_) preparePrefilter();
    for (;;) {
      if (filter && literal_ >= 0) {
        const char* at = findByte(s, subjectEnd_ - s, literal_);
        if (at == nullptr) return false;
        spend(at - s);
        s = at;
      } else if (filter && first_ != nullptr) {
        const char* at = s;
        while (at < subjectEnd_ && !single(static_cast<unsigned char>(*at), first_, firstEnd_)) {
          ++at;
        }
        spend(at - s);
        if (at == subjectEnd_) return false;
        s = at;
      }
      level_ = 0;
      depth_ = 0;
      if (const char* e = match(s, pattern_)) {
        begin_ = s;
        end_ = e;
        return true;
      }
      if (anchored || s >= subjectEnd_) return false;
      ++s;
    }
  } catch (Failure failure) {
    failure_ = failure;
    return false;
  }
}

void Matcher::preparePrefilter() {
  prefilterReady_ = true;
  literal_ = literalAfter(pattern_);
  if (literal_ < 0) firstItem(first_, firstEnd_);
}

// The single-character item every match must start with, after any capture openings; first
// stays null when there is none. Every search reaches this item at its first try, so its
// malformations fail here just as they would there.
void Matcher::firstItem(const char*& first, const char*& firstEnd) const {
  const char* p = pattern_;
  for (int opens = 0; p < patternEnd_ && *p == '(' && opens < 8; ++opens) {
    p += p + 1 < patternEnd_ && p[1] == ')' ? 2 : 1;
  }
  if (p == patternEnd_ || *p == '(' || *p == ')' || *p == '$') return;
  if (*p == '%' && p + 1 < patternEnd_ &&
      (p[1] == 'b' || p[1] == 'f' || (p[1] >= '0' && p[1] <= '9'))) {
    return;
  }
  const char* ep = itemEnd(p);
  if (ep < patternEnd_ && (*ep == '*' || *ep == '?' || *ep == '-')) return;
  first = p;
  firstEnd = ep;
}

// The literal byte a match of the pattern rest at `p` must start with, or -1 if there is none
// (an empty rest, a class, a capture, or an item that may match nothing).
inline int Matcher::literalAfter(const char* p) const noexcept {
  if (p >= patternEnd_) return -1;
  const char c = *p;
  if (c == '$' || c == '(' || c == ')' || c == '%' || c == '[' || c == '.') return -1;
  if (p + 1 < patternEnd_ && (p[1] == '*' || p[1] == '?' || p[1] == '-')) return -1;
  return static_cast<unsigned char>(c);
}

// Every recursion counts against kMaxDepth exactly where LuaJIT's does, so the same patterns
// are "too complex" in both.
const char* Matcher::match(const char* s, const char* p) {
  if (++depth_ > kMaxDepth) throw Failure::TooComplex;
  spend(1);
  const char* result = matchItems(s, p);
  --depth_;
  return result;
}

const char* Matcher::matchItems(const char* s, const char* p) {
  for (;;) {
    if (p == patternEnd_) return s;
    switch (*p) {
      case '(':
        if (p + 1 < patternEnd_ && p[1] == ')') return openCapture(s, p + 2, kCapturePosition);
        return openCapture(s, p + 1, kCaptureUnfinished);
      case ')':
        return closeCapture(s, p + 1);
      case '$':
        if (p + 1 == patternEnd_) return s == subjectEnd_ ? s : nullptr;
        break;  // a '$' elsewhere is a literal
      case '%':
        if (p + 1 == patternEnd_) break;  // itemEnd() reports it
        if (p[1] == 'b') {
          s = balanced(s, p + 2);
          if (s == nullptr) return nullptr;
          p += 4;
          continue;
        }
        if (p[1] == 'f') {
          p += 2;
          if (p == patternEnd_ || *p != '[') throw Failure::MissingFrontierBracket;
          const char* ep = itemEnd(p);
          const auto before = static_cast<unsigned char>(s == subject_ ? '\0' : s[-1]);
          const auto after = static_cast<unsigned char>(s < subjectEnd_ ? *s : '\0');
          if (setMatch(before, p, ep - 1) || !setMatch(after, p, ep - 1)) return nullptr;
          p = ep;
          continue;
        }
        if (p[1] >= '0' && p[1] <= '9') {
          s = backReference(s, p[1]);
          if (s == nullptr) return nullptr;
          p += 2;
          continue;
        }
        break;
      default:
        break;
    }
    // A single-character class, maybe followed by a quantifier.
    const char* ep = itemEnd(p);
    const bool matched = s < subjectEnd_ && single(static_cast<unsigned char>(*s), p, ep);
    switch (ep < patternEnd_ ? *ep : '\0') {
      case '?':
        if (matched) {
          if (const char* result = match(s + 1, ep + 1)) return result;
        }
        p = ep + 1;
        continue;
      case '*':
        return longest(s, p, ep);
      case '+':
        return matched ? longest(s + 1, p, ep) : nullptr;
      case '-':
        return shortest(s, p, ep);
      default:
        if (!matched) return nullptr;
        ++s;
        p = ep;
        continue;
    }
  }
}

// The end of the single-character class at p; malformed classes fail only once reached.
const char* Matcher::itemEnd(const char* p) const {
  const char c = *p++;
  if (c == '%') {
    if (p == patternEnd_) throw Failure::EndsWithPercent;
    return p + 1;
  }
  if (c == '[') {
    if (p < patternEnd_ && *p == '^') ++p;
    do {  // the first member may be ']' itself
      if (p == patternEnd_) throw Failure::MissingBracket;
      if (*p++ == '%' && p < patternEnd_) ++p;
    } while (p == patternEnd_ || *p != ']');
    return p + 1;
  }
  return p;
}

inline bool Matcher::single(unsigned char c, const char* p, const char* ep) const noexcept {
  switch (*p) {
    case '.':
      return true;
    case '%':
      return classMatch(c, static_cast<unsigned char>(p[1]));
    case '[':
      return setMatch(c, p, ep - 1);
    default:
      return static_cast<unsigned char>(*p) == c;
  }
}

// `x*` (and `x+` after its first character): the longest run first, then shorter ones.
const char* Matcher::longest(const char* s, const char* p, const char* ep) {
  const std::ptrdiff_t available = subjectEnd_ - s;
  std::ptrdiff_t n = 0;
  while (n < available) {  // in slices, so a long subject still polls the budget
    const std::ptrdiff_t slice = std::min(available - n, kStepsPerPoll);
    const std::ptrdiff_t run = countRun(s + n, slice, p, ep);
    n += run;
    spend(run);
    if (run < slice) break;
  }
  // Skipping calls that would fail at once is only exact while they cannot hit the depth limit.
  if (depth_ < kMaxDepth && ep + 2 == patternEnd_ && ep[1] == '$') {
    if (n != available) return nullptr;  // only the end of the subject can follow
    return match(s + n, ep + 1);
  }
  const int literal = depth_ < kMaxDepth ? literalAfter(ep + 1) : -1;
  for (;;) {
    if (literal >= 0) {
      const std::ptrdiff_t span = std::min(n + 1, available);
      const char* at = findLastByte(s, span, literal);
      if (at == nullptr) {
        spend(n);
        return nullptr;
      }
      const std::ptrdiff_t i = at - s;
      spend(n - i);
      n = i;
    }
    if (const char* result = match(s + n, ep + 1)) return result;
    if (n == 0) return nullptr;
    --n;
  }
}

// `x-`: the shortest run first, one more character at a time.
const char* Matcher::shortest(const char* s, const char* p, const char* ep) {
  if (depth_ < kMaxDepth && ep + 2 == patternEnd_ && ep[1] == '$') {  // `x-$` is `x*$`
    const std::ptrdiff_t available = subjectEnd_ - s;
    spend(available);
    if (countRun(s, available, p, ep) != available) return nullptr;
    return match(subjectEnd_, ep + 1);
  }
  const int literal = depth_ < kMaxDepth ? literalAfter(ep + 1) : -1;
  if (*p == '.' && literal >= 0) {  // `.-c`: only the positions of c can end the run
    for (;;) {
      const char* at = findByte(s, subjectEnd_ - s, literal);
      if (at == nullptr) {
        spend(subjectEnd_ - s);
        return nullptr;
      }
      spend(at - s);
      s = at;
      if (const char* result = match(s, ep + 1)) return result;
      ++s;
    }
  }
  for (;;) {
    if (literal < 0 || (s < subjectEnd_ && static_cast<unsigned char>(*s) == literal)) {
      if (const char* result = match(s, ep + 1)) return result;
    } else {
      spend(1);
    }
    if (s == subjectEnd_ || !single(static_cast<unsigned char>(*s), p, ep)) return nullptr;
    ++s;
  }
}

const char* Matcher::openCapture(const char* s, const char* p, std::ptrdiff_t what) {
  if (level_ >= kMaxCaptures) throw Failure::TooManyCaptures;
  captures_[level_] = Capture{.begin = s, .len = what};
  ++level_;
  const char* result = match(s, p);
  if (result == nullptr) --level_;
  return result;
}

const char* Matcher::closeCapture(const char* s, const char* p) {
  int open = level_ - 1;
  while (open >= 0 && captures_[open].len != kCaptureUnfinished) --open;
  if (open < 0) throw Failure::InvalidPatternCapture;
  captures_[open].len = s - captures_[open].begin;
  const char* result = match(s, p);
  if (result == nullptr) captures_[open].len = kCaptureUnfinished;
  return result;
}

// `%bxy` with p after "%b": x, then text up to the y that balances it.
const char* Matcher::balanced(const char* s, const char* p) {
  if (patternEnd_ - p < 2) throw Failure::Unbalanced;
  if (s == subjectEnd_ || *s != p[0]) return nullptr;
  const char open = p[0];
  const char close = p[1];
  int depth = 1;
  for (const char* q = s + 1; q < subjectEnd_; ++q) {
    if (*q == close) {
      if (--depth == 0) {
        spend(q - s);
        return q + 1;
      }
    } else if (*q == open) {
      ++depth;
    }
  }
  spend(subjectEnd_ - s);
  return nullptr;
}

// `%1`..`%9`: the text of a closed capture again. A position capture never matches (as in LuaJIT).
const char* Matcher::backReference(const char* s, char digit) {
  const int index = digit - '1';
  if (index < 0 || index >= level_ || captures_[index].len == kCaptureUnfinished) {
    throw Failure::InvalidCaptureIndex;
  }
  const std::ptrdiff_t len = captures_[index].len;
  if (len < 0 || subjectEnd_ - s < len) return nullptr;
  spend(len);
  if (std::memcmp(captures_[index].begin, s, static_cast<std::size_t>(len)) != 0) return nullptr;
  return s + len;
}

}  // namespace botfn::lua::pattern
