// LabelController: Harbor's labels with their rules and RBAC. Global labels
// are managed by system administrators (the system "label" resource); a
// project's labels by its project admins and maintainers, and readable by
// every member (and by everyone when the project is public).
#ifndef BERTH_LABEL_LABEL_CONTROLLER_H_
#define BERTH_LABEL_LABEL_CONTROLLER_H_

#include <cstdint>
#include <string>

#include "auth/access_evaluator.h"
#include "common/identity.h"
#include "iam/project_controller.h"
#include "store/label_store.h"

namespace berth {

// A label to create, as Harbor's CreateLabel reads it.
struct LabelSpec {
  std::string name;
  std::string description;
  std::string color;
  std::string scope;       // "g" | "p"
  int64_t project_id = 0;  // with scope "p"; ignored for "g"
};

// 1-128 bytes, as Harbor's Label.Valid.
Status ValidateLabelName(const std::string& name);

class LabelController {
 public:
  LabelController(LabelStore& labels, ProjectController& projects, AccessEvaluator& evaluator)
      : labels_(labels), projects_(projects), evaluator_(evaluator) {}

  // 401 anonymous; 400 bad scope, project id or name; 404 no such project;
  // 403 without the label create permission; 409 name taken.
  StatusOr<LabelRecord> Create(const Identity& who, const LabelSpec& spec);
  // 404 first, then the label's read permission (a global label's is a
  // system permission, as in Harbor).
  StatusOr<LabelRecord> Get(const Identity& who, int64_t id);
  // Harbor lists global labels to anyone; project labels need the project's
  // label list permission. filter.scope must be "g" or "p" (400), and "p"
  // needs a project id (400).
  StatusOr<Page<LabelRecord>> List(const Identity& who, const LabelFilter& filter,
                                   const ListQuery& q);
  // Whether `who` may update the label (404, 401/403); Update checks again.
  Status AuthorizeUpdate(const Identity& who, int64_t id);
  // Replaces name, description and color (scope and project never change).
  Status Update(const Identity& who, int64_t id, const std::string& name,
                const std::string& description, const std::string& color);
  // Detaches it from every artifact too.
  Status Delete(const Identity& who, int64_t id);

  // The label to attach to an artifact of project `project_id`, if `who` may
  // attach labels there (the project's artifact-label create permission):
  // 404 when the label doesn't exist, 400 when it is another project's label
  // (only global labels and the project's own can be attached).
  StatusOr<LabelRecord> ResolveForArtifact(const Identity& who, int64_t project_id,
                                           int64_t label_id);

 private:
  // 404 when missing.
  StatusOr<LabelRecord> Load(int64_t id);
  // The permission for `action` on the label: system for global labels, the
  // project's "label" resource for project labels.
  Status Authorize(const Identity& who, const LabelRecord& label, const std::string& action);
  Status AuthorizeProject(const Identity& who, int64_t project_id, const std::string& resource,
                          const std::string& action);

  LabelStore& labels_;
  ProjectController& projects_;
  AccessEvaluator& evaluator_;
};

}  // namespace berth

#endif  // BERTH_LABEL_LABEL_CONTROLLER_H_
