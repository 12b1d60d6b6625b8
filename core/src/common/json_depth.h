// A nesting limit for untrusted JSON. nlohmann::json parses and destroys
// iteratively, but dump(), copies and comparisons recurse once per level: a
// body of a million '[' parses fine and then overflows the stack of the
// thread that dumps it. Bodies are checked with this before parsing.
#ifndef BERTH_COMMON_JSON_DEPTH_H_
#define BERTH_COMMON_JSON_DEPTH_H_

#include <string_view>

namespace berth {

// Far beyond any manifest or API body (those nest fewer than 10 levels).
inline constexpr int kMaxJsonDepth = 128;

// True when arrays/objects in `text` nest deeper than `limit`. Brackets in
// strings are skipped; for valid JSON the count is exact, for anything else
// the parser reports the error.
inline bool JsonNestingExceeds(std::string_view text, int limit = kMaxJsonDepth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace berth

#endif  // BERTH_COMMON_JSON_DEPTH_H_
