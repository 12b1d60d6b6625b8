// ImmutableRuleStore: Harbor's immutable tag rules, each of one project
// (they go with it), with one repository selector and one tag selector —
// the only ones Harbor's matcher reads. A project has no two rules with the
// same selectors.
#ifndef BERTH_STORE_IMMUTABLE_RULE_STORE_H_
#define BERTH_STORE_IMMUTABLE_RULE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/selector.h"
#include "store/list_query.h"
#include "store/sql.h"
#include "store/tag_guard.h"

namespace berth {

struct ImmutableRuleRecord {
  int64_t id = 0;
  int64_t project_id = 0;
  bool disabled = false;
  int64_t priority = 0;
  std::string action = "immutable";
  std::string template_name = "immutable_template";
  Selector repository;  // decoration repoMatches | repoExcludes
  Selector tag;         // decoration matches | excludes
  int64_t creation_time = 0;  // unix millis
  int64_t update_time = 0;
};

// Decides on a write's tags given the enabled rules of the repository's
// project (ordered by id); see TagGuard.
using ImmutableDecision =
    std::function<Status(const std::vector<ImmutableRuleRecord>& rules,
                         std::string_view repository, const std::vector<std::string>& tags,
                         TagChange change)>;

class ImmutableRuleStore {
 public:
  explicit ImmutableRuleStore(SqlDatabase& db) : db_(db) {}

  // Creates the rule (id and times set). kNotFound when the project is gone,
  // kConflict when it has a rule with these selectors, kInvalidArgument
  // (BAD_REQUEST) when it has `max_per_project` rules already.
  StatusOr<ImmutableRuleRecord> Create(ImmutableRuleRecord rule, int64_t max_per_project);
  StatusOr<std::optional<ImmutableRuleRecord>> Get(int64_t id);
  // The project's rules. Keys: id, priority, disabled (true/false). Default
  // order: id.
  StatusOr<Page<ImmutableRuleRecord>> List(int64_t project_id, const ListQuery& q);
  // Replaces everything but the id and project. kNotFound, kConflict.
  Status Update(const ImmutableRuleRecord& rule);
  // kNotFound.
  Status Delete(int64_t id);
  // The project's enabled rules, by id.
  StatusOr<std::vector<ImmutableRuleRecord>> EnabledRules(int64_t project_id);

  // A TagGuard that reads the enabled rules of the repository's project in
  // the write's own transaction and lets `decide` judge the tags.
  TagGuard Guard(ImmutableDecision decide) const;

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_IMMUTABLE_RULE_STORE_H_
