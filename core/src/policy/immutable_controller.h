// ImmutableController: Harbor's immutable tag rules (per project, RBAC
// resource "immutable-tag": project admins and maintainers) and their
// enforcement. A tag an enabled rule matches can be neither moved to another
// artifact by a push nor deleted — alone, with its artifact or with its
// repository — by anyone, system administrators included: 412 PRECONDITION
// with Harbor's wording, naming the rule that matched.
//
// Enforcement runs inside the writers' transactions (TagGuard on
// RegistryStore and ArtifactStore), which read the rules and the tags they
// change in that same transaction. Atomic: the tag the push or delete
// changes is exactly the one judged (a tag added to an artifact while it is
// being deleted is seen; two pushes racing on a new tag cannot both win on
// PostgreSQL, the second finds the first's row). Not atomic against rule
// edits: a write racing a rule's creation may run under the old rules, as if
// it came first. Garbage collection only deletes untagged artifacts and is
// not guarded.
#ifndef BERTH_POLICY_IMMUTABLE_CONTROLLER_H_
#define BERTH_POLICY_IMMUTABLE_CONTROLLER_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/identity.h"
#include "iam/project_controller.h"
#include "store/artifact_store.h"
#include "store/immutable_rule_store.h"
#include "store/registry_store.h"

namespace berth {

// Harbor's kind, decorations and non-empty well-formed patterns, action
// "immutable", template "immutable_template"; 400 naming the field.
Status ValidateImmutableRule(const ImmutableRuleRecord& rule);

// The id of the first rule (in the given order) that makes `tag` of
// `repository` ("project/path"; rules see the path) immutable; 0 when none.
// Disabled rules are skipped.
StatusOr<int64_t> MatchingImmutableRule(const std::vector<ImmutableRuleRecord>& rules,
                                        std::string_view repository, std::string_view tag);

class ImmutableController {
 public:
  // As Harbor's UI allows.
  static constexpr int64_t kMaxRulesPerProject = 15;

  ImmutableController(ImmutableRuleStore& rules, ProjectController& projects)
      : rules_(rules), projects_(projects) {}

  // `action` on the project's immutable-tag resource (create, update,
  // delete, list); Deny() when refused.
  Status Authorize(const Identity& who, const ProjectRecord& p, const std::string& action);
  StatusOr<Page<ImmutableRuleRecord>> List(const Identity& who, const ProjectRecord& p,
                                           const ListQuery& q);
  // 400 invalid or over the limit, 409 a rule with these selectors exists.
  StatusOr<ImmutableRuleRecord> Create(const Identity& who, const ProjectRecord& p,
                                       ImmutableRuleRecord rule);
  // Replaces the rule `rule.id` (selectors, priority, disabled, ...); 404
  // when it is not this project's.
  Status Update(const Identity& who, const ProjectRecord& p, ImmutableRuleRecord rule);
  Status Delete(const Identity& who, const ProjectRecord& p, int64_t id);

  // For other features (tag retention, lists): whether an enabled rule of
  // the project makes `tag` of `repository` (full name) immutable.
  StatusOr<bool> IsImmutable(int64_t project_id, std::string_view repository,
                             std::string_view tag);
  // The batch form (one read of the rules): each immutable tag among `tags`
  // with the id of the first rule matching it; mutable tags are absent.
  StatusOr<std::map<std::string, int64_t>> ImmutableTags(int64_t project_id,
                                                         std::string_view repository,
                                                         const std::vector<std::string>& tags);

  // Installs the in-transaction enforcement on the registry's writers.
  void Enforce(RegistryStore& registry, ArtifactStore& artifacts);

 private:
  // 404 unless the rule exists and is the project's.
  StatusOr<ImmutableRuleRecord> Load(const ProjectRecord& p, int64_t id);

  ImmutableRuleStore& rules_;
  ProjectController& projects_;
};

}  // namespace berth

#endif  // BERTH_POLICY_IMMUTABLE_CONTROLLER_H_
