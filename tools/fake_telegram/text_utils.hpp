// Small string helpers: UTF-8 length counting (code points and UTF-16 units), URL decoding,
// integer parsing and wall-clock time. Used by request parsing, validation and update building.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace botfn::fake_telegram {

std::string toLower(std::string_view s);
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Decodes %XX escapes and '+' (as space), as used in query strings and form bodies.
std::string urlDecode(std::string_view s);
// Splits "a=1&b=2" into decoded pairs, in order.
std::vector<std::pair<std::string, std::string>> parseUrlEncoded(std::string_view s);

// Number of Unicode code points; each invalid byte counts as one.
size_t codePointCount(std::string_view utf8);
// Number of UTF-16 code units the text occupies (code points above U+FFFF count as two).
size_t utf16Length(std::string_view utf8);
// Whether the text is empty after removing whitespace (ASCII and U+00A0 are not special-cased).
bool isBlank(std::string_view s);

std::optional<int64_t> parseInt64(std::string_view s);

double unixTimeNow();  // seconds since the epoch with a fractional part
int64_t unixSecondsNow();

}  // namespace botfn::fake_telegram
