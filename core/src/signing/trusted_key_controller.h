// TrustedKeyController: a project's trusted cosign keys (Berth's own API,
// docs/signing.md). Reading them is the project's "configuration read"
// (every member); adding and removing them its "configuration update"
// (project admins), as the project's other policy settings in Harbor.
#ifndef BERTH_SIGNING_TRUSTED_KEY_CONTROLLER_H_
#define BERTH_SIGNING_TRUSTED_KEY_CONTROLLER_H_

#include <functional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "common/identity.h"
#include "iam/project_controller.h"
#include "store/trusted_key_store.h"

namespace berth {

// At most this many keys per project: each is tried on every signature.
inline constexpr size_t kMaxTrustedKeysPerProject = 32;

class TrustedKeyController {
 public:
  TrustedKeyController(TrustedKeyStore& keys, ProjectController& projects, AuditLog& audit)
      : keys_(keys), projects_(projects), audit_(audit) {}

  // Called after a project's keys changed (the pull policy's cache).
  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

  StatusOr<std::vector<TrustedKeyRecord>> List(const Identity& who, const ProjectRecord& p);
  StatusOr<TrustedKeyRecord> Get(const Identity& who, const ProjectRecord& p, int64_t id);
  // 400 when the PEM is not an ECDSA P-256 or Ed25519 public key, or the
  // project has kMaxTrustedKeysPerProject keys; 409 when trusted already.
  StatusOr<TrustedKeyRecord> Add(const Identity& who, const ProjectRecord& p,
                                 const std::string& pem, const std::string& description);
  Status Delete(const Identity& who, const ProjectRecord& p, int64_t id);

 private:
  void Changed() const {
    if (on_change_) on_change_();
  }

  TrustedKeyStore& keys_;
  ProjectController& projects_;
  AuditLog& audit_;
  std::function<void()> on_change_;
};

}  // namespace berth

#endif  // BERTH_SIGNING_TRUSTED_KEY_CONTROLLER_H_
