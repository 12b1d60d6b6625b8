// The plain data of Harbor's doublestar selectors (kind, decoration,
// pattern), which stores persist and policy/selector.h validates and matches.
// Kept in common so the store does not depend on policy.
#ifndef BERTH_COMMON_SELECTOR_H_
#define BERTH_COMMON_SELECTOR_H_

#include <string>

namespace berth {

namespace selectors {
inline constexpr char kDoublestar[] = "doublestar";
// Tags.
inline constexpr char kMatches[] = "matches";
inline constexpr char kExcludes[] = "excludes";
// Repositories, by their path inside the project ("team/app" of
// "library/team/app"), as Harbor's candidates carry them.
inline constexpr char kRepoMatches[] = "repoMatches";
inline constexpr char kRepoExcludes[] = "repoExcludes";
// Projects (namespaces), by name.
inline constexpr char kNsMatches[] = "nsMatches";
inline constexpr char kNsExcludes[] = "nsExcludes";
}  // namespace selectors

struct Selector {
  std::string kind = selectors::kDoublestar;
  std::string decoration;
  std::string pattern;
};

// What a selector may select.
enum class SelectorScope { kTag, kRepository, kNamespace };

}  // namespace berth

#endif  // BERTH_COMMON_SELECTOR_H_
