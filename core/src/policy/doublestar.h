// Doublestar path patterns, as github.com/bmatcuk/doublestar (v1) matches
// them — the matcher behind Harbor's "doublestar" selectors (immutable tag
// rules, tag retention, replication filters):
//
//   *        any run of characters except '/'
//   **       as a whole path component: zero or more components
//            ("a/**/b" matches a/b and a/x/y/b; "a/**" matches a/x, not a);
//            inside a component it is just '*'
//   ?        one character (a UTF-8 code point) except '/'
//   [a-z]    one character of the class; [^a-z] or [!a-z] any other; '\'
//            escapes
//   {a,b}    any of the alternatives, which may nest and contain '/'
//   \c       the character c itself
//
// The whole name must match; an empty pattern matches everything, as
// Harbor's selectors treat it. Differences from the Go library: '!' negates
// a class too (as in doublestar v2+ and shells); a malformed
// pattern (unclosed '[' or '{', empty class, '-' misplaced in a class,
// trailing '\') is an error whatever the name, where Go reports it only
// when the matcher reaches it; and a pattern with more than
// kMaxDoublestarAlternatives brace alternatives in all is refused.
#ifndef BERTH_POLICY_DOUBLESTAR_H_
#define BERTH_POLICY_DOUBLESTAR_H_

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace berth {

inline constexpr size_t kMaxDoublestarAlternatives = 256;

// kInvalidArgument saying what is wrong with the pattern.
Status ValidateDoublestar(std::string_view pattern);

// Whether `name` matches `pattern`; kInvalidArgument for a malformed pattern.
StatusOr<bool> DoublestarMatch(std::string_view pattern, std::string_view name);

}  // namespace berth

#endif  // BERTH_POLICY_DOUBLESTAR_H_
