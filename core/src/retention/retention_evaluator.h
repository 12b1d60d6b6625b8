// Rule evaluation for tag retention, Harbor's "or" algorithm
// (src/pkg/retention/policy/alg/or): per repository, each enabled rule whose
// scope selectors match the repository selects artifacts with its tag and
// label selectors (in sequence: all must select) and retains some of them by
// its template; an artifact is retained if any rule retains it, and every
// other artifact of the repository is deleted. A repository no enabled rule
// covers is left alone. Pure functions: the job feeds candidates it read
// from the store, and tests feed fixtures.
#ifndef BERTH_RETENTION_RETENTION_EVALUATOR_H_
#define BERTH_RETENTION_RETENTION_EVALUATOR_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "retention/retention_policy.h"

namespace berth {

// One top-level artifact of a repository, as Harbor's GetCandidates sees it.
struct RetentionCandidate {
  int64_t id = 0;
  std::string digest;
  std::vector<std::string> tags;
  std::vector<std::string> labels;  // label names
  int64_t push_time = 0;      // unix millis: the latest of the artifact's and its tags'
  int64_t pull_time = 0;      // unix millis, 0 = never: the latest of the artifact's and its tags'
  int64_t creation_time = 0;  // the artifact's own push time
};

// Rules that apply to `repository` (its path inside the project, as Harbor's
// repoMatches/repoExcludes see it): enabled, and selected by every scope
// selector.
StatusOr<std::vector<const RetentionRule*>> RulesForRepository(const RetentionPolicy& policy,
                                                               std::string_view repository);

// Ids of the candidates the rules retain (the union over rules).
StatusOr<std::set<int64_t>> RetainedBy(const std::vector<const RetentionRule*>& rules,
                                       const std::vector<RetentionCandidate>& candidates,
                                       int64_t now_ms);

// The task log's table, as Harbor's retention job prints it: Digest, Tag,
// Kind, Labels, PushedTime, PulledTime, CreatedTime, Retention (RETAIN,
// DEL, IMMUTABLE, ERR), times in UTC.
std::string RetentionTable(const std::vector<RetentionCandidate>& candidates,
                           const std::map<int64_t, std::string>& marks);

}  // namespace berth

#endif  // BERTH_RETENTION_RETENTION_EVALUATOR_H_
