// Matcher: botfn's own Lua 5.1 pattern matcher (reference manual §5.4.1), step-counted so that a
// pathological pattern stops at the run's CPU budget instead of running for minutes inside one C
// call. Pure C++ (no Lua API); the string.find/match/gmatch/gsub bindings in pattern_lib.cpp use
// it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace botfn::lua::pattern {

// LuaJIT's limits, so that a pattern that works there works here and fails the same way.
inline constexpr int kMaxCaptures = 32;
inline constexpr int kMaxDepth = 200;
// Steps (item attempts, characters scanned) between two polls of the budget: well under 1 ms.
inline constexpr std::ptrdiff_t kStepsPerPoll = 1 << 16;

inline constexpr std::ptrdiff_t kCaptureUnfinished = -1;
inline constexpr std::ptrdiff_t kCapturePosition = -2;

// Why a match attempt stopped without a result. Each value but BudgetSpent has a Lua message.
enum class Failure : std::uint8_t {
  None,
  EndsWithPercent,
  MissingBracket,
  MissingFrontierBracket,
  Unbalanced,
  InvalidPatternCapture,
  InvalidCaptureIndex,
  UnfinishedCapture,
  TooManyCaptures,
  TooComplex,
  BudgetSpent,
};

// The message LuaJIT raises for the same fault ("malformed pattern (ends with '%')", ...).
const char* failureMessage(Failure failure) noexcept;

// No default member initialisers: a Matcher is built per call, and only captures below
// captureCount() are ever read.
struct Capture {
  const char* begin;
  std::ptrdiff_t len;  // or kCaptureUnfinished, kCapturePosition
};

// Called every kStepsPerPoll steps; returning false abandons the match with BudgetSpent.
using PollFn = bool (*)(void* arg);

// Plain search (find with plain = true): fast on short texts, linear at worst.
const char* findPlain(const char* text, std::size_t n, const char* needle, std::size_t m) noexcept;

// True if find() must treat `pattern` as a pattern (it holds one of ^$*+?.([%-), as LuaJIT does.
bool hasSpecials(const char* pattern, std::size_t len) noexcept;

class Matcher {
 public:
  // `pattern` ends at its first NUL byte, as in Lua 5.1 (use %z to match a NUL). The subject and
  // the pattern must outlive the Matcher; captures point into the subject.
  Matcher(const char* subject, std::size_t subjectLen, const char* pattern, std::size_t patternLen,
          PollFn poll, void* pollArg) noexcept;

  // Finds the first match starting at or after offset `from` (only at `from` when `anchored`).
  // False when there is none or on a failure (see failure()).
  bool search(std::size_t from, bool anchored) noexcept;

  Failure failure() const noexcept { return failure_; }
  std::size_t matchBegin() const noexcept { return static_cast<std::size_t>(begin_ - subject_); }
  std::size_t matchEnd() const noexcept { return static_cast<std::size_t>(end_ - subject_); }
  int captureCount() const noexcept { return level_; }
  const Capture& capture(int i) const noexcept { return captures_[i]; }
  const char* subject() const noexcept { return subject_; }

 private:
  const char* match(const char* s, const char* p);
  const char* matchItems(const char* s, const char* p);
  void preparePrefilter();
  void firstItem(const char*& first, const char*& firstEnd) const;
  const char* itemEnd(const char* p) const;
  [[gnu::always_inline]] bool single(unsigned char c, const char* p, const char* ep) const noexcept;
  const char* longest(const char* s, const char* p, const char* ep);
  const char* shortest(const char* s, const char* p, const char* ep);
  const char* openCapture(const char* s, const char* p, std::ptrdiff_t what);
  const char* closeCapture(const char* s, const char* p);
  const char* balanced(const char* s, const char* p);
  const char* backReference(const char* s, char digit);
  int literalAfter(const char* ep) const noexcept;
  void spend(std::ptrdiff_t steps) {
    steps_ -= steps;
    if (steps_ < 0) poll();
  }
  void poll();

  const char* subject_;
  const char* subjectEnd_;
  const char* pattern_;
  const char* patternEnd_;
  PollFn poll_;
  void* pollArg_;
  std::ptrdiff_t steps_ = kStepsPerPoll;
  int depth_ = 0;
  int level_ = 0;
  Failure failure_ = Failure::None;
  // Where a match can start, worked out once per Matcher (gsub and gmatch search many times).
  bool prefilterReady_ = false;
  int literal_ = -1;
  const char* first_ = nullptr;
  const char* firstEnd_ = nullptr;
  const char* begin_ = nullptr;
  const char* end_ = nullptr;
  Capture captures_[kMaxCaptures];
};

}  // namespace botfn::lua::pattern
