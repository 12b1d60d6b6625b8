// Doublestar globs, as Harbor's selectors use them (bmatcuk/doublestar):
// '/' separates path components; '*' matches within a component, '**' as a
// whole component matches zero or more components, '?' one character, [a-z]
// and [!a-z] / [^a-z] classes, {a,b} alternatives (nestable), '\' escapes.
// An empty pattern matches everything (Harbor's selectors treat it so).
#ifndef BERTH_POLICY_DOUBLESTAR_H_
#define BERTH_POLICY_DOUBLESTAR_H_

#include <string_view>

#include "common/status.h"

namespace berth {

// kInvalidArgument for a malformed pattern (unclosed '[' or '{', trailing '\').
StatusOr<bool> DoublestarMatch(std::string_view pattern, std::string_view name);
Status ValidateDoublestar(std::string_view pattern);

}  // namespace berth

#endif  // BERTH_POLICY_DOUBLESTAR_H_
