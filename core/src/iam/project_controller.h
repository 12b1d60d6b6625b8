// ProjectController: projects, their metadata and members, with Harbor's
// rules and RBAC checks. Handlers parse and render; this decides.
#ifndef BERTH_IAM_PROJECT_CONTROLLER_H_
#define BERTH_IAM_PROJECT_CONTROLLER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "auth/access_evaluator.h"
#include "auth/denial.h"
#include "common/identity.h"
#include "config/runtime_settings.h"
#include "quota/quota_controller.h"
#include "store/project_store.h"
#include "store/user_store.h"

namespace berth {

// A member to add: a user (by id or name) or a group (by id, or by name /
// LDAP DN and type).
struct MemberSpec {
  int role = 0;
  int64_t user_id = 0;
  std::string username;
  int64_t group_id = 0;
  std::string group_name;
  int group_type = 0;
  std::string ldap_group_dn;
};

struct ProjectSummary {
  int64_t repo_count = 0;
  std::map<int, int64_t> role_counts;
  std::optional<QuotaRecord> quota;  // when the caller may read it
};

// ^[a-z0-9]+(?:[._-][a-z0-9]+)*$, 1-255 characters.
Status ValidateProjectName(const std::string& name);
// Known keys with valid values (booleans as "true"/"false", severity, ...).
Status ValidateProjectMetadata(const std::map<std::string, std::string>& metadata);

class ProjectController {
 public:
  ProjectController(ProjectStore& projects, UserStore& users, AccessEvaluator& evaluator,
                    AuditLog& audit, const SettingsSource& settings)
      : projects_(projects), users_(users), evaluator_(evaluator), audit_(audit),
        settings_(settings) {}

  // A numeric reference is an id unless `is_name` (X-Is-Resource-Name).
  StatusOr<ProjectRecord> Resolve(const std::string& name_or_id, bool is_name);
  // `storage_limit` (ProjectReq.storage_limit) is honoured for system
  // administrators; everyone else's project gets the configured default, as
  // in Harbor.
  StatusOr<ProjectRecord> Create(const Identity& who, const std::string& name,
                                 std::map<std::string, std::string> metadata,
                                 std::optional<int64_t> storage_limit = std::nullopt,
                                 int64_t registry_id = 0);
  StatusOr<bool> Exists(const std::string& name);
  // The project, if `who` may read it.
  StatusOr<ProjectRecord> Get(const Identity& who, const std::string& name_or_id, bool is_name);
  StatusOr<Page<ProjectRecord>> List(const Identity& who, const ListQuery& q);
  // Which projects `who` sees in lists (and searches).
  ProjectVisibility VisibilityOf(const Identity& who) const;
  Status UpdateMetadata(const Identity& who, const ProjectRecord& p,
                        const std::map<std::string, std::string>& metadata);
  Status Delete(const Identity& who, const ProjectRecord& p);
  // Whether the project may be deleted, and why not.
  StatusOr<std::pair<bool, std::string>> Deletable(const Identity& who, const ProjectRecord& p);
  StatusOr<ProjectSummary> Summary(const Identity& who, const ProjectRecord& p);
  Status DeleteMetadataKey(const Identity& who, const ProjectRecord& p, const std::string& key);
  // Authorisation for a project resource; Deny() when refused.
  Status Check(const Identity& who, const ProjectRecord& p, const std::string& resource,
               const std::string& action);
  StatusOr<std::vector<int>> RolesOf(const Identity& who, const ProjectRecord& p) {
    return evaluator_.RolesOf(who, p);
  }

  // Confirms an LDAP group DN exists in the directory (set with auth mode ldap).
  using LdapGroupCheck = std::function<Status(const std::string& dn)>;
  void set_ldap_group_check(LdapGroupCheck fn) { ldap_group_check_ = std::move(fn); }
  // Confirms a proxy-cache project's registry exists (kNotFound otherwise).
  using RegistryCheck = std::function<Status(int64_t registry_id)>;
  void set_registry_check(RegistryCheck fn) { registry_check_ = std::move(fn); }
  // Right after a proxy-cache project is created (Harbor gives it a default
  // retention policy); a failure removes the project again.
  using ProxyProjectCreated = std::function<Status(const Identity& who, const ProjectRecord& p)>;
  void set_on_proxy_created(ProxyProjectCreated fn) { on_proxy_created_ = std::move(fn); }
  // Storage quotas: default limits for new projects, quota in summaries.
  void set_quotas(QuotaController* quotas) { quotas_ = quotas; }
  // Called after a project's metadata changed or the project was deleted
  // (caches of project policies).
  void set_on_change(std::function<void(const ProjectRecord&)> fn) { on_change_ = std::move(fn); }
  // Called after a project was deleted, for what hangs off it outside the
  // project's own rows (its retention policy's schedule, as Harbor deletes).
  void set_on_deleted(std::function<void(const ProjectRecord&)> fn) { on_deleted_ = std::move(fn); }

  StatusOr<MemberRecord> AddMember(const Identity& who, const ProjectRecord& p, const MemberSpec& m);
  StatusOr<Page<MemberRecord>> Members(const Identity& who, const ProjectRecord& p,
                                       const ListQuery& q);
  StatusOr<MemberRecord> Member(const Identity& who, const ProjectRecord& p, int64_t member_id);
  Status UpdateMember(const Identity& who, const ProjectRecord& p, int64_t member_id, int role);
  Status DeleteMember(const Identity& who, const ProjectRecord& p, int64_t member_id);

 private:
  ProjectStore& projects_;
  UserStore& users_;
  AccessEvaluator& evaluator_;
  AuditLog& audit_;
  const SettingsSource& settings_;
  void Changed(const ProjectRecord& p) const {
    if (on_change_) on_change_(p);
  }

  LdapGroupCheck ldap_group_check_;
  RegistryCheck registry_check_;
  ProxyProjectCreated on_proxy_created_;
  std::function<void(const ProjectRecord&)> on_deleted_;
  QuotaController* quotas_ = nullptr;
  std::function<void(const ProjectRecord&)> on_change_;
};

}  // namespace berth

#endif  // BERTH_IAM_PROJECT_CONTROLLER_H_
