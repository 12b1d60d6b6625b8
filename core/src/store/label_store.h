// LabelStore: Harbor's labels (global, or belonging to one project) and the
// labels attached to artifacts. A global label has no project row (NULL
// project_id) so a project's labels, and their attachments, go with the
// project through foreign keys.
#ifndef BERTH_STORE_LABEL_STORE_H_
#define BERTH_STORE_LABEL_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct LabelRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string color;
  std::string scope;       // "g" (global) | "p" (project)
  int64_t project_id = 0;  // 0 for global labels
  int64_t creation_time = 0;  // unix millis
  int64_t update_time = 0;
};

// Which labels a list covers.
struct LabelFilter {
  std::string scope = "g";  // "g" | "p"
  int64_t project_id = 0;   // with scope "p"
};

class LabelStore {
 public:
  explicit LabelStore(SqlDatabase& db) : db_(db) {}

  // Creates the label (id and times are set). kConflict when its scope (or
  // project) has a label of that name; kNotFound when its project is gone.
  StatusOr<LabelRecord> Create(LabelRecord label);
  StatusOr<std::optional<LabelRecord>> Get(int64_t id);
  // Keys: id, name, description, color, scope, project_id, creation_time,
  // update_time. Default order: id.
  StatusOr<Page<LabelRecord>> List(const LabelFilter& filter, const ListQuery& q);
  // Sets name, description and color. kNotFound, or kConflict on a name taken.
  Status Update(int64_t id, const std::string& name, const std::string& description,
                const std::string& color);
  // Deletes the label and detaches it from every artifact. kNotFound.
  Status Delete(int64_t id);

  // Attaches; kConflict (409 CONFLICT) when attached already, kNotFound when
  // the label or the artifact doesn't exist.
  Status AttachToArtifact(int64_t artifact_id, int64_t label_id);
  // kNotFound when not attached.
  Status DetachFromArtifact(int64_t artifact_id, int64_t label_id);
  // Labels of each artifact (one query, for a page of artifacts): every
  // requested id is a key, with its labels ordered by id (empty when none).
  StatusOr<std::map<int64_t, std::vector<LabelRecord>>> LabelsOfArtifacts(
      const std::vector<int64_t>& artifact_ids);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_LABEL_STORE_H_
