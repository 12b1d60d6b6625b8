// ProjectStore: projects, their metadata and their members.
#ifndef BERTH_STORE_PROJECT_STORE_H_
#define BERTH_STORE_PROJECT_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/list_query.h"
#include "store/sql.h"

namespace berth {

struct ProjectRecord {
  int64_t project_id = 0;
  std::string name;
  int64_t owner_id = 0;
  std::string owner_name;
  int64_t registry_id = 0;
  int64_t creation_time = 0;  // unix millis
  int64_t update_time = 0;
  std::map<std::string, std::string> metadata;  // Harbor's ProjectMetadata, all strings
  int64_t repo_count = 0;
  bool IsPublic() const {
    auto it = metadata.find("public");
    return it != metadata.end() && it->second == "true";
  }
};

struct MemberRecord {
  int64_t id = 0;
  int64_t project_id = 0;
  int64_t entity_id = 0;
  std::string entity_type;  // "u" | "g"
  std::string entity_name;
  int role = 0;
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

// Which projects a caller may see in lists.
struct ProjectVisibility {
  bool all = false;  // system administrators
  int64_t user_id = 0;  // 0: anonymous
  std::vector<int64_t> group_ids;
  int64_t project_id = 0;  // also this project (a project robot's own)
};

// For other stores' SQL over `project p`: whether p is public ('true' /
// 'false'), and the condition that `who` may see p (its parameters are
// appended to `params`, numbered from there).
extern const char kProjectPublicExpr[];
std::string VisibleProjectCondition(const ProjectVisibility& who, std::vector<SqlValue>* params);

class ProjectStore {
 public:
  explicit ProjectStore(SqlDatabase& db) : db_(db) {}

  // Creates the project; the owner (when > 0) becomes its project admin.
  // Its quota row is created with `storage_limit` bytes (-1: unlimited).
  // kConflict when the name is taken.
  StatusOr<ProjectRecord> Create(const std::string& name, int64_t owner_id,
                                 const std::map<std::string, std::string>& metadata,
                                 int64_t registry_id = 0, int64_t storage_limit = -1);
  StatusOr<std::optional<ProjectRecord>> GetByName(std::string_view name);
  StatusOr<std::optional<ProjectRecord>> GetById(int64_t id);
  // Keys: name, project_id, public, owner, creation_time.
  StatusOr<Page<ProjectRecord>> List(const ListQuery& q, const ProjectVisibility& who);
  // Upserts the given keys.
  Status SetMetadata(int64_t project_id, const std::map<std::string, std::string>& metadata);
  // kNotFound when the key is absent.
  Status DeleteMetadata(int64_t project_id, std::string_view key);
  // kPreconditionFailed while repositories remain. Its quota goes with it.
  Status Delete(int64_t project_id);
  StatusOr<int64_t> RepoCount(int64_t project_id);

  // kConflict when the entity is already a member.
  StatusOr<MemberRecord> AddMember(int64_t project_id, int64_t entity_id,
                                   const std::string& entity_type, int role);
  // Keys: entityname, entity_type, role.
  StatusOr<Page<MemberRecord>> ListMembers(int64_t project_id, const ListQuery& q);
  StatusOr<std::optional<MemberRecord>> GetMember(int64_t project_id, int64_t member_id);
  Status UpdateMemberRole(int64_t project_id, int64_t member_id, int role);
  Status DeleteMember(int64_t project_id, int64_t member_id);
  // Every role the user holds in the project, directly or through a group.
  StatusOr<std::vector<int>> RolesOf(int64_t project_id, int64_t user_id,
                                     const std::vector<int64_t>& group_ids);
  // role id -> number of members holding it
  StatusOr<std::map<int, int64_t>> RoleCounts(int64_t project_id);

 private:
  Status LoadMetadata(SqlTransaction& tx, ProjectRecord* p);
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_PROJECT_STORE_H_
