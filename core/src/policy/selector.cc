#include "policy/selector.h"

#include "policy/doublestar.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

bool IsExcludes(const std::string& d) {
  return d == selectors::kExcludes || d == selectors::kRepoExcludes ||
         d == selectors::kNsExcludes;
}

}  // namespace

Status ValidateSelector(const Selector& s, SelectorScope scope, const std::string& field) {
  if (s.kind != selectors::kDoublestar) {
    return Bad(field + ".kind: unsupported selector kind '" + s.kind + "' (only doublestar)");
  }
  const char* keep = selectors::kMatches;
  const char* drop = selectors::kExcludes;
  if (scope == SelectorScope::kRepository) {
    keep = selectors::kRepoMatches;
    drop = selectors::kRepoExcludes;
  } else if (scope == SelectorScope::kNamespace) {
    keep = selectors::kNsMatches;
    drop = selectors::kNsExcludes;
  }
  if (s.decoration != keep && s.decoration != drop) {
    return Bad(field + ".decoration: '" + s.decoration + "' is not " + keep + " or " + drop);
  }
  if (s.pattern.empty()) return Bad(field + ".pattern is required");
  Status valid = ValidateDoublestar(s.pattern);
  if (!valid.ok()) return Bad(field + ".pattern '" + s.pattern + "': " + valid.message());
  return {};
}

StatusOr<bool> SelectorSelects(const Selector& s, std::string_view value) {
  bool matched = true;
  if (!s.pattern.empty()) {
    BERTH_ASSIGN_OR_RETURN(matched, DoublestarMatch(s.pattern, value));
  }
  return IsExcludes(s.decoration) ? !matched : matched;
}

}  // namespace berth
