// Authenticator: turns credentials into an Identity. Users sign in through
// the configured auth backend (db, ldap, oidc); local users (the initial
// administrator among them) always through the database backend; robots
// ("robot$..." names) with their secret; OIDC users with their CLI secret.
// External users are onboarded on first sign-in.
#ifndef BERTH_AUTH_AUTHENTICATOR_H_
#define BERTH_AUTH_AUTHENTICATOR_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <optional>
#include <semaphore>
#include <mutex>
#include <string>
#include <unordered_map>

#include "audit/audit_log.h"
#include "auth/auth_backend.h"
#include "common/identity.h"
#include "auth/login_limiter.h"
#include "common/logger.h"
#include "store/robot_store.h"
#include "store/user_store.h"

namespace berth {

struct AuthSettings {
  std::string mode = "db";  // db | ldap | oidc
  std::string robot_prefix = "robot$";
  int64_t credential_cache_ms = 60000;  // reuse a verified password this long
};

class Authenticator {
 public:
  Authenticator(AuthSettings settings, UserStore& users, RobotStore& robots,
                AuthBackend& db_backend, std::shared_ptr<AuthBackend> mode_backend,
                LoginLimiter& limiter,
                AuditLog& audit, Logger& log);

  // kUnauthenticated ("invalid username or password", the same for every
  // cause) or kTooManyRequests.
  StatusOr<Identity> Password(const std::string& username, const std::string& password,
                              const std::string& remote_address);
  // A signed-in user's identity (sessions).
  StatusOr<Identity> ForUserId(int64_t user_id);
  Identity ForUser(const UserRecord& u, std::vector<int64_t> group_ids);
  // Creates or refreshes the local record of an external user, with groups.
  StatusOr<Identity> Onboard(const ExternalUser& e, const std::string& source);

  // A copy: the mode and robot prefix may change at any time (Reconfigure).
  AuthSettings settings() const;
  AuthBackend& db_backend() { return db_; }
  // The backend of the current mode when it is `mode` (null otherwise);
  // callers keep it alive while they use it.
  std::shared_ptr<AuthBackend> BackendFor(const std::string& mode) const;
  // /configurations changed the auth mode (with its backend: null for db)
  // or the robot prefix. Cached credentials are forgotten.
  void Reconfigure(const std::string& mode, std::shared_ptr<AuthBackend> mode_backend,
                   const std::string& robot_prefix);
  void SetRobotPrefix(const std::string& robot_prefix);
  // Forget cached credentials (password changed, user deleted).
  void InvalidateCache();

 private:
  StatusOr<Identity> Robot(const std::string& name, const std::string& secret);
  StatusOr<Identity> User(const std::string& username, const std::string& password);

  mutable std::mutex settings_mu_;  // guards settings_ and mode_
  AuthSettings settings_;
  UserStore& users_;
  RobotStore& robots_;
  AuthBackend& db_;
  std::shared_ptr<AuthBackend> mode_;
  LoginLimiter& limiter_;
  AuditLog& audit_;
  Logger& log_;
  std::mutex mu_;
  struct Cached {
    Identity id;
    int64_t expires_ms;
  };
  std::unordered_map<std::string, Cached> cache_;  // sha256(user \0 password) -> identity
  // One password check per credential at a time: when a cached entry expires
  // under load, every connection of a client misses at once, and each
  // argon2id check costs ~19 MiB and tens of ms. Followers wait for the
  // leader's result.
  struct Flight {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<StatusOr<Identity>> result;
  };
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  // Password checks in progress across all users, at most one per core:
  // each costs ~19 MiB and a core for tens of ms, so a burst of different
  // users signing in queues instead of multiplying memory.
  std::counting_semaphore<1024> kdf_slots_;
  // User() inside one of kdf_slots_.
  StatusOr<Identity> CheckInSlot(const std::string& username, const std::string& password);
  StatusOr<Identity> CheckOnce(const std::string& key, const std::string& username,
                               const std::string& password, const std::string& remote,
                               int64_t now);
};

// Robot permissions from Harbor's JSON list.
std::vector<RobotPermission> ParseRobotPermissions(const std::string& json);

}  // namespace berth

#endif  // BERTH_AUTH_AUTHENTICATOR_H_
