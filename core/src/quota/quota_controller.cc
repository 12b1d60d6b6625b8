#include "quota/quota_controller.h"

#include "auth/denial.h"
#include "common/clock.h"
#include "common/strings.h"

namespace berth {

namespace {
Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }
}  // namespace

Status QuotaController::ValidateStorageLimit(int64_t bytes, const std::string& what) {
  if (bytes == -1 || bytes > 0) return {};
  return Bad("invalid value " + std::to_string(bytes) + " for " + what +
             ": use -1 for unlimited or a positive number of bytes");
}

Status QuotaController::RequireSystem(const Identity& who, const char* action,
                                      const std::string& what) {
  if (evaluator_.CanSystem(who, "quota", action)) return {};
  return Deny(who, "only system administrators may " + what);
}

StatusOr<Page<QuotaRecord>> QuotaController::List(const Identity& who,
                                                  const std::string& reference,
                                                  const std::string& reference_id, ListQuery q) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "list", "list quotas"));
  if (!reference.empty()) q.terms.push_back({"reference", QueryTerm::Op::kExact, {reference}});
  if (!reference_id.empty()) {
    if (!ParseInt64(reference_id)) return Bad("reference_id must be an integer");
    q.terms.push_back({"reference_id", QueryTerm::Op::kExact, {reference_id}});
  }
  return quotas_.List(q);
}

StatusOr<QuotaRecord> QuotaController::Get(const Identity& who, int64_t id) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "read", "read quotas"));
  BERTH_ASSIGN_OR_RETURN(auto q, quotas_.Get(id));
  if (!q) return Status::NotFound("quota " + std::to_string(id) + " not found", "NOT_FOUND");
  return *q;
}

Status QuotaController::UpdateHard(const Identity& who, int64_t id,
                                   const std::map<std::string, int64_t>& hard) {
  BERTH_RETURN_IF_ERROR(RequireSystem(who, "update", "update quotas"));
  for (const auto& [name, value] : hard) {
    if (name != kStorageResource) {
      return Bad("resource " + name + " is not supported: a quota has only \"storage\"");
    }
    BERTH_RETURN_IF_ERROR(ValidateStorageLimit(value, "hard.storage"));
  }
  auto it = hard.find(kStorageResource);
  if (it == hard.end()) return Bad("hard.storage is required");
  // Existence after the checks, as Harbor: a bad body is a 400 either way.
  BERTH_ASSIGN_OR_RETURN(auto q, quotas_.Get(id));
  if (!q) return Status::NotFound("quota " + std::to_string(id) + " not found", "NOT_FOUND");
  return quotas_.SetHardStorage(id, it->second);
}

StatusOr<std::optional<QuotaRecord>> QuotaController::ForProject(int64_t project_id) {
  return quotas_.GetByProject(project_id);
}

StatusOr<QuotaRecount> QuotaController::Recount(int64_t project_id) {
  return quotas_.Recount(project_id);
}

StatusOr<std::vector<QuotaRecount>> QuotaController::RecountAll() {
  BERTH_ASSIGN_OR_RETURN(auto ids, quotas_.ProjectIds());
  std::vector<QuotaRecount> out;
  for (int64_t id : ids) {
    auto r = quotas_.Recount(id);
    if (r.status().IsNotFound()) continue;  // deleted meanwhile
    if (!r.ok()) return r.status();
    out.push_back(*r);
  }
  return out;
}

StatusOr<int64_t> QuotaController::ReleaseStalePending(int64_t before_unix_millis) {
  return quotas_.ReleaseStalePending(before_unix_millis);
}

void QuotaController::OnPushRefused(const std::string& repository, const std::string& digest,
                                    const std::string& tag, const std::string& username,
                                    const std::string& request_id, const Status& why) {
  // The store's quota refusal carries the storage detail; other denials
  // (immutability, say) are not quota events.
  if (!on_event_ || why.code() != Code::kPermissionDenied ||
      why.detail_json().find("\"resource\":\"storage\"") == std::string::npos) {
    return;
  }
  on_event_({"QUOTA_EXCEED", repository, digest, tag, why.message(), username, request_id,
             NowUnixMillis()});
}

void QuotaController::OnPushed(int64_t project_id, const std::string& repository,
                               const std::string& digest, const std::string& tag,
                               const std::string& username, const std::string& request_id) {
  if (!on_event_ || project_id == 0) return;
  auto q = quotas_.GetByProject(project_id);
  if (!q.ok() || !*q) return;
  int64_t hard = (*q)->hard_storage, used = (*q)->used_storage;
  const bool above = hard > 0 && used * 100 >= hard * kQuotaWarningPercent;
  {
    std::lock_guard<std::mutex> lock(warned_mu_);
    if (!above) {
      warned_.erase(project_id);
      return;
    }
    if (!warned_.insert(project_id).second) return;
  }
  on_event_({"QUOTA_WARNING", repository, digest, tag,
             "quota usage reach " + std::to_string(kQuotaWarningPercent) +
                 "%: resource storage used " + accounting::FormatBytes(used) + " of " +
                 accounting::FormatBytes(hard),
             username, request_id, NowUnixMillis()});
}

}  // namespace berth
