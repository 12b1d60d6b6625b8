#include "policy/immutable_controller.h"

#include "policy/selector.h"

namespace berth {

namespace {

constexpr char kResource[] = "immutable-tag";

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

// The repository's path inside its project, which Harbor's selectors see.
std::string_view PathOf(std::string_view repository) {
  size_t slash = repository.find('/');
  return slash == std::string_view::npos ? repository : repository.substr(slash + 1);
}

// Harbor's wording (its immutable middleware for pushes, its tag controller
// for deletes), then which rule matched, so that whoever is refused can see
// why.
Status Refusal(int64_t rule_id, std::string_view repository, const std::string& tag,
               TagChange change) {
  std::string project(repository.substr(0, repository.find('/')));
  std::string what = "'" + std::string(PathOf(repository)) + ":" + tag + "'";
  std::string why = "immutable tag rule " + std::to_string(rule_id) + " of project " + project +
                    " matches " + what;
  std::string m = change == TagChange::kOverwrite
                      ? "Failed to process request due to " + what +
                            " configured as immutable: " + why
                      : "the tag " + tag + " configured as immutable, cannot be deleted: " + why;
  return Status(Code::kPreconditionFailed, m, "PRECONDITION");
}

}  // namespace

Status ValidateImmutableRule(const ImmutableRuleRecord& rule) {
  if (rule.action != "immutable") {
    return Bad("action: '" + rule.action + "' is not supported (only immutable)");
  }
  if (rule.template_name != "immutable_template") {
    return Bad("template: '" + rule.template_name +
               "' is not supported (only immutable_template)");
  }
  BERTH_RETURN_IF_ERROR(
      ValidateSelector(rule.repository, SelectorScope::kRepository, "scope_selectors.repository[0]"));
  return ValidateSelector(rule.tag, SelectorScope::kTag, "tag_selectors[0]");
}

StatusOr<int64_t> MatchingImmutableRule(const std::vector<ImmutableRuleRecord>& rules,
                                        std::string_view repository, std::string_view tag) {
  std::string_view path = PathOf(repository);
  for (const auto& r : rules) {
    if (r.disabled) continue;
    BERTH_ASSIGN_OR_RETURN(bool repo_in, SelectorSelects(r.repository, path));
    if (!repo_in) continue;
    BERTH_ASSIGN_OR_RETURN(bool tag_in, SelectorSelects(r.tag, tag));
    if (tag_in) return r.id;
  }
  return int64_t{0};
}

Status ImmutableController::Authorize(const Identity& who, const ProjectRecord& p,
                                      const std::string& action) {
  return projects_.Check(who, p, kResource, action);
}

StatusOr<ImmutableRuleRecord> ImmutableController::Load(const ProjectRecord& p, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto rule, rules_.Get(id));
  // Another project's rule is as unknown as a missing one (Harbor: 404).
  if (!rule || rule->project_id != p.project_id) {
    return Status::NotFound("immutable rule " + std::to_string(id) + " not found in project " +
                                p.name,
                            "NOT_FOUND");
  }
  return *rule;
}

StatusOr<Page<ImmutableRuleRecord>> ImmutableController::List(const Identity& who,
                                                              const ProjectRecord& p,
                                                              const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(Authorize(who, p, "list"));
  return rules_.List(p.project_id, q);
}

StatusOr<ImmutableRuleRecord> ImmutableController::Create(const Identity& who,
                                                          const ProjectRecord& p,
                                                          ImmutableRuleRecord rule) {
  BERTH_RETURN_IF_ERROR(Authorize(who, p, "create"));
  BERTH_RETURN_IF_ERROR(ValidateImmutableRule(rule));
  rule.project_id = p.project_id;
  return rules_.Create(std::move(rule), kMaxRulesPerProject);
}

Status ImmutableController::Update(const Identity& who, const ProjectRecord& p,
                                   ImmutableRuleRecord rule) {
  BERTH_RETURN_IF_ERROR(Authorize(who, p, "update"));
  BERTH_RETURN_IF_ERROR(Load(p, rule.id).status());
  BERTH_RETURN_IF_ERROR(ValidateImmutableRule(rule));
  rule.project_id = p.project_id;
  return rules_.Update(rule);
}

Status ImmutableController::Delete(const Identity& who, const ProjectRecord& p, int64_t id) {
  BERTH_RETURN_IF_ERROR(Authorize(who, p, "delete"));
  BERTH_RETURN_IF_ERROR(Load(p, id).status());
  return rules_.Delete(id);
}

StatusOr<bool> ImmutableController::IsImmutable(int64_t project_id, std::string_view repository,
                                                std::string_view tag) {
  BERTH_ASSIGN_OR_RETURN(auto rules, rules_.EnabledRules(project_id));
  BERTH_ASSIGN_OR_RETURN(int64_t rule, MatchingImmutableRule(rules, repository, tag));
  return rule != 0;
}

StatusOr<std::map<std::string, int64_t>> ImmutableController::ImmutableTags(
    int64_t project_id, std::string_view repository, const std::vector<std::string>& tags) {
  std::map<std::string, int64_t> out;
  if (tags.empty()) return out;
  BERTH_ASSIGN_OR_RETURN(auto rules, rules_.EnabledRules(project_id));
  if (rules.empty()) return out;
  for (const auto& t : tags) {
    BERTH_ASSIGN_OR_RETURN(int64_t rule, MatchingImmutableRule(rules, repository, t));
    if (rule != 0) out[t] = rule;
  }
  return out;
}

void ImmutableController::Enforce(RegistryStore& registry, ArtifactStore& artifacts) {
  auto decide = [](const std::vector<ImmutableRuleRecord>& rules, std::string_view repository,
                   const std::vector<std::string>& tags, TagChange change) -> Status {
    for (const auto& t : tags) {
      BERTH_ASSIGN_OR_RETURN(int64_t rule, MatchingImmutableRule(rules, repository, t));
      if (rule != 0) return Refusal(rule, repository, t, change);
    }
    return {};
  };
  registry.set_tag_guard(rules_.Guard(decide));
  artifacts.set_tag_guard(rules_.Guard(decide));
}

}  // namespace berth
