#include "label/label_controller.h"

#include "auth/denial.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

}  // namespace

Status ValidateLabelName(const std::string& name) {
  if (name.empty()) return Bad("label name cannot be empty");
  if (name.size() > 128) return Bad("label name is longer than 128 characters");
  return {};
}

StatusOr<LabelRecord> LabelController::Load(int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto label, labels_.Get(id));
  if (!label) return Status::NotFound("label " + std::to_string(id) + " not found", "NOT_FOUND");
  return *label;
}

Status LabelController::AuthorizeProject(const Identity& who, int64_t project_id,
                                         const std::string& resource, const std::string& action) {
  BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects_.Resolve(std::to_string(project_id), false));
  return projects_.Check(who, p, resource, action);
}

Status LabelController::Authorize(const Identity& who, const LabelRecord& label,
                                  const std::string& action) {
  if (label.scope == "p") return AuthorizeProject(who, label.project_id, "label", action);
  if (evaluator_.CanSystem(who, "label", action)) return {};
  return Deny(who, "only system administrators may " + action + " global labels");
}

StatusOr<LabelRecord> LabelController::Create(const Identity& who, const LabelSpec& spec) {
  // Nobody anonymous may create labels: say so before judging the body.
  if (!who.authenticated()) return Deny(who, "");
  LabelRecord label;
  label.name = spec.name;
  label.description = spec.description;
  label.color = spec.color;
  label.scope = spec.scope;
  if (spec.scope == "p") {
    // (Harbor answers 403 here, as for any project it cannot find.)
    if (spec.project_id <= 0) return Bad("a project label needs a positive project_id");
    label.project_id = spec.project_id;
  } else if (spec.scope != "g") {
    return Bad("invalid label scope '" + spec.scope + "': g (global) or p (project)");
  }
  BERTH_RETURN_IF_ERROR(Authorize(who, label, "create"));
  BERTH_RETURN_IF_ERROR(ValidateLabelName(label.name));
  return labels_.Create(label);
}

StatusOr<LabelRecord> LabelController::Get(const Identity& who, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(LabelRecord label, Load(id));
  BERTH_RETURN_IF_ERROR(Authorize(who, label, "read"));
  return label;
}

StatusOr<Page<LabelRecord>> LabelController::List(const Identity& who, const LabelFilter& filter,
                                                  const ListQuery& q) {
  if (filter.scope == "p") {
    if (filter.project_id <= 0) return Bad("project_id is required to list project labels");
    BERTH_RETURN_IF_ERROR(AuthorizeProject(who, filter.project_id, "label", "list"));
  } else if (filter.scope != "g") {
    return Bad("invalid scope '" + filter.scope + "': g (global) or p (project)");
  }
  // Global labels: Harbor checks nothing, since every project's members
  // choose among them when labelling artifacts.
  return labels_.List(filter, q);
}

Status LabelController::AuthorizeUpdate(const Identity& who, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(LabelRecord label, Load(id));
  return Authorize(who, label, "update");
}

Status LabelController::Update(const Identity& who, int64_t id, const std::string& name,
                               const std::string& description, const std::string& color) {
  BERTH_ASSIGN_OR_RETURN(LabelRecord label, Load(id));
  BERTH_RETURN_IF_ERROR(Authorize(who, label, "update"));
  BERTH_RETURN_IF_ERROR(ValidateLabelName(name));
  return labels_.Update(id, name, description, color);
}

Status LabelController::Delete(const Identity& who, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(LabelRecord label, Load(id));
  BERTH_RETURN_IF_ERROR(Authorize(who, label, "delete"));
  return labels_.Delete(id);
}

StatusOr<LabelRecord> LabelController::ResolveForArtifact(const Identity& who, int64_t project_id,
                                                          int64_t label_id) {
  BERTH_RETURN_IF_ERROR(AuthorizeProject(who, project_id, "artifact-label", "create"));
  BERTH_ASSIGN_OR_RETURN(LabelRecord label, Load(label_id));
  if (label.scope == "p" && label.project_id != project_id) {
    return Bad("label " + std::to_string(label_id) +
               " belongs to another project: only global labels and the project's own can be "
               "added");
  }
  return label;
}

}  // namespace berth
