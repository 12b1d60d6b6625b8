#include "signing/trusted_key_controller.h"

#include "signing/public_key.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

}  // namespace

StatusOr<std::vector<TrustedKeyRecord>> TrustedKeyController::List(const Identity& who,
                                                                   const ProjectRecord& p) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "configuration", "read"));
  return keys_.List(p.project_id);
}

StatusOr<TrustedKeyRecord> TrustedKeyController::Get(const Identity& who, const ProjectRecord& p,
                                                     int64_t id) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "configuration", "read"));
  BERTH_ASSIGN_OR_RETURN(auto k, keys_.Get(p.project_id, id));
  if (!k) return Status::NotFound("trusted key " + std::to_string(id) + " not found", "NOT_FOUND");
  return *k;
}

StatusOr<TrustedKeyRecord> TrustedKeyController::Add(const Identity& who, const ProjectRecord& p,
                                                     const std::string& pem,
                                                     const std::string& description) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "configuration", "update"));
  if (description.size() > 1024) return Bad("description must be at most 1024 bytes");
  BERTH_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromPem(pem));
  BERTH_ASSIGN_OR_RETURN(auto existing, keys_.List(p.project_id));
  if (existing.size() >= kMaxTrustedKeysPerProject) {
    return Bad("a project trusts at most " + std::to_string(kMaxTrustedKeysPerProject) + " keys");
  }
  TrustedKeyRecord r;
  r.project_id = p.project_id;
  r.description = description;
  r.algorithm = key.algorithm();
  r.fingerprint = key.fingerprint();
  r.public_key = key.pem();
  r.creator = who.username;
  BERTH_ASSIGN_OR_RETURN(r, keys_.Create(std::move(r)));
  Changed();
  audit_.Record({0, p.project_id, who.username, p.name + ":" + r.fingerprint, "trusted_key",
                 "create", "success", 0, p.name});
  return r;
}

Status TrustedKeyController::Delete(const Identity& who, const ProjectRecord& p, int64_t id) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, "configuration", "update"));
  BERTH_ASSIGN_OR_RETURN(auto k, keys_.Get(p.project_id, id));
  if (!k) return Status::NotFound("trusted key " + std::to_string(id) + " not found", "NOT_FOUND");
  BERTH_RETURN_IF_ERROR(keys_.Delete(p.project_id, id));
  Changed();
  audit_.Record({0, p.project_id, who.username, p.name + ":" + k->fingerprint, "trusted_key",
                 "delete", "success", 0, p.name});
  return {};
}

}  // namespace berth
