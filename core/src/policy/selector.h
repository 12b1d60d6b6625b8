// Harbor's doublestar selectors (lib/selector/selectors/doublestar), which
// immutable tag rules use and tag retention and replication will: a kind
// ("doublestar", the only one), a decoration saying what the pattern is
// applied to and whether it keeps or drops what it matches, and the pattern.
#ifndef BERTH_POLICY_SELECTOR_H_
#define BERTH_POLICY_SELECTOR_H_

#include <string>
#include <string_view>

#include "common/selector.h"
#include "common/status.h"

namespace berth {


// 400 BAD_REQUEST naming `field` ("tag_selectors[0]", ...): the kind must be
// doublestar, the decoration one of the scope's two, the pattern non-empty
// and well formed.
Status ValidateSelector(const Selector& s, SelectorScope scope, const std::string& field);

// Whether the selector keeps `value` (a tag, a repository path or a project
// name, as its decoration says): a "matches" decoration keeps what the
// pattern matches, an "excludes" one what it does not. An empty pattern
// matches everything, as Harbor's.
StatusOr<bool> SelectorSelects(const Selector& s, std::string_view value);

}  // namespace berth

#endif  // BERTH_POLICY_SELECTOR_H_
