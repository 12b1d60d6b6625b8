// QuotaController: Harbor's project storage quotas. Reading and changing
// quotas is for system administrators (and robots granted the system quota
// permissions), as in Harbor; project members see their own project's quota
// in its summary. Enforcement on push lives in RegistryStore's transactions;
// this holds the rules for limits and the recount a QUOTA_RECOUNT job runs.
#ifndef BERTH_QUOTA_QUOTA_CONTROLLER_H_
#define BERTH_QUOTA_QUOTA_CONTROLLER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "auth/access_evaluator.h"
#include "common/identity.h"
#include "store/quota_store.h"

namespace berth {

// The only quota resource Harbor has.
inline constexpr char kStorageResource[] = "storage";
// Harbor's quota warning threshold: a push that takes usage to or above this
// share of the hard limit fires QUOTA_WARNING (once per crossing: see OnPushed).
inline constexpr int kQuotaWarningPercent = 85;

// A QUOTA_EXCEED or QUOTA_WARNING event, for webhook policies.
struct QuotaEvent {
  std::string type;  // "QUOTA_EXCEED" | "QUOTA_WARNING"
  std::string repository;
  std::string digest;
  std::string tag;
  std::string message;  // custom_attributes.Details
  std::string username;
  std::string request_id;
  int64_t occurred_at_ms = 0;
};
using QuotaEventFn = std::function<void(const QuotaEvent&)>;

class QuotaController {
 public:
  // `default_storage_limit`: quota.storage_per_project, for new projects.
  QuotaController(QuotaStore& quotas, AccessEvaluator& evaluator, int64_t default_storage_limit)
      : quotas_(quotas), evaluator_(evaluator), default_storage_limit_(default_storage_limit) {}

  // `reference` ("project") and `reference_id` filter when not empty.
  StatusOr<Page<QuotaRecord>> List(const Identity& who, const std::string& reference,
                                   const std::string& reference_id, ListQuery q);
  StatusOr<QuotaRecord> Get(const Identity& who, int64_t id);
  // Whether `who` may update quotas (checked again by UpdateHard).
  Status AuthorizeUpdate(const Identity& who) { return RequireSystem(who, "update", "update quotas"); }
  // Sets the hard limits: exactly the known resources, each -1 or positive.
  Status UpdateHard(const Identity& who, int64_t id, const std::map<std::string, int64_t>& hard);

  // The project's quota without an authorisation check (the caller has done
  // it: the project summary checks the project's quota read permission).
  StatusOr<std::optional<QuotaRecord>> ForProject(int64_t project_id);

  // From-scratch recount of one project's usage, repairing drift; this is
  // what the QUOTA_RECOUNT job calls. kNotFound for an unknown project.
  StatusOr<QuotaRecount> Recount(int64_t project_id);
  // Every project, one transaction each.
  StatusOr<std::vector<QuotaRecount>> RecountAll();
  // Gives back the quota of blobs uploaded before the cutoff that no manifest
  // claimed (abandoned pushes). Returns how many.
  StatusOr<int64_t> ReleaseStalePending(int64_t before_unix_millis);

  // Quota events: set before serving.
  void set_event_sink(QuotaEventFn fn) { on_event_ = std::move(fn); }
  // A push the store refused: QUOTA_EXCEED when it was the storage quota.
  void OnPushRefused(const std::string& repository, const std::string& digest,
                     const std::string& tag, const std::string& username,
                     const std::string& request_id, const Status& why);
  // After a push into project `project_id`: QUOTA_WARNING when its usage is
  // at or above kQuotaWarningPercent of a hard limit and this node has not
  // warned since the project was last seen below it. Harbor warns on every
  // such push, which floods receivers of a project that sits at 90% for
  // weeks; here a receiver hears once per crossing per node (and again after
  // a restart).
  void OnPushed(int64_t project_id, const std::string& repository, const std::string& digest,
                const std::string& tag, const std::string& username,
                const std::string& request_id);

  // The limit a new project gets when its creator does not choose one.
  int64_t default_storage_limit() const { return default_storage_limit_; }

  // -1 (unlimited) or a positive number of bytes; Harbor refuses 0 and other
  // negatives. `what` names the value in the message.
  static Status ValidateStorageLimit(int64_t bytes, const std::string& what);

 private:
  Status RequireSystem(const Identity& who, const char* action, const std::string& what);
  QuotaStore& quotas_;
  AccessEvaluator& evaluator_;
  int64_t default_storage_limit_;
  QuotaEventFn on_event_;
  std::mutex warned_mu_;
  std::unordered_set<int64_t> warned_;  // projects at or above the threshold, warned
};

}  // namespace berth

#endif  // BERTH_QUOTA_QUOTA_CONTROLLER_H_
