// Small string helpers shared across berthd.
#ifndef BERTH_COMMON_STRINGS_H_
#define BERTH_COMMON_STRINGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Parses a base-10 integer that fills the whole string; nullopt otherwise.
std::optional<int64_t> ParseInt64(std::string_view s);
// Percent-decoding ('+' is kept); nullopt for a malformed escape.
std::optional<std::string> UrlDecode(std::string_view s);
// Percent-encodes everything but unreserved characters (RFC 3986).
std::string UrlEncode(std::string_view s);
// Appends s to out as the inside of a JSON string literal.
void AppendJsonEscaped(std::string* out, std::string_view s);
std::string JsonQuote(std::string_view s);

}  // namespace berth

#endif  // BERTH_COMMON_STRINGS_H_
