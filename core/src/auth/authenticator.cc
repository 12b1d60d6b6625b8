#include "auth/authenticator.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth/secret_hash.h"
#include "common/clock.h"
#include "common/digest.h"

namespace berth {

namespace {

Status Invalid() { return Status::Unauthenticated("invalid username or password", "UNAUTHORIZED"); }

}  // namespace

std::vector<RobotPermission> ParseRobotPermissions(const std::string& json) {
  std::vector<RobotPermission> out;
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& p : j) {
    if (!p.is_object()) continue;
    RobotPermission rp;
    rp.kind = p.value("kind", "");
    rp.ns = p.value("namespace", "");
    for (const auto& a : p.value("access", nlohmann::json::array())) {
      if (!a.is_object() || a.value("effect", "allow") != "allow") continue;
      rp.access.emplace_back(a.value("resource", ""), a.value("action", ""));
    }
    out.push_back(std::move(rp));
  }
  return out;
}

Authenticator::Authenticator(AuthSettings settings, UserStore& users, RobotStore& robots,
                             AuthBackend& db_backend, std::shared_ptr<AuthBackend> mode_backend,
                             LoginLimiter& limiter, AuditLog& audit, Logger& log)
    : settings_(std::move(settings)),
      users_(users),
      robots_(robots),
      db_(db_backend),
      mode_(std::move(mode_backend)),
      limiter_(limiter),
      audit_(audit),
      log_(log),
      kdf_slots_(std::clamp<std::ptrdiff_t>(std::thread::hardware_concurrency(), 2, 1024)) {}

AuthSettings Authenticator::settings() const {
  std::lock_guard<std::mutex> lock(settings_mu_);
  return settings_;
}

std::shared_ptr<AuthBackend> Authenticator::BackendFor(const std::string& mode) const {
  std::lock_guard<std::mutex> lock(settings_mu_);
  return settings_.mode == mode ? mode_ : nullptr;
}

void Authenticator::Reconfigure(const std::string& mode, std::shared_ptr<AuthBackend> mode_backend,
                                const std::string& robot_prefix) {
  {
    std::lock_guard<std::mutex> lock(settings_mu_);
    settings_.mode = mode;
    settings_.robot_prefix = robot_prefix;
    mode_ = std::move(mode_backend);
  }
  InvalidateCache();  // identities verified by the previous backend
}

void Authenticator::SetRobotPrefix(const std::string& robot_prefix) {
  std::lock_guard<std::mutex> lock(settings_mu_);
  settings_.robot_prefix = robot_prefix;
}

void Authenticator::InvalidateCache() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.clear();
}

Identity Authenticator::ForUser(const UserRecord& u, std::vector<int64_t> group_ids) {
  Identity id;
  id.kind = Identity::Kind::kUser;
  id.username = u.username;
  id.user_id = u.user_id;
  // Administrator by the flag, or by the identity provider's admin group.
  id.sysadmin = u.sysadmin || u.admin_in_auth;
  id.group_ids = std::move(group_ids);
  id.method = "basic";
  return id;
}

StatusOr<Identity> Authenticator::ForUserId(int64_t user_id) {
  BERTH_ASSIGN_OR_RETURN(auto u, users_.GetById(user_id));
  if (!u) return Status::Unauthenticated("the user no longer exists", "UNAUTHORIZED");
  BERTH_ASSIGN_OR_RETURN(auto groups, users_.GroupIdsOf(user_id));
  return ForUser(*u, std::move(groups));
}

StatusOr<Identity> Authenticator::Robot(const std::string& name, const std::string& secret) {
  BERTH_ASSIGN_OR_RETURN(auto r, robots_.GetByName(name));
  // Verify against something even for unknown robots, for equal timing.
  bool match = VerifySecret(secret, r ? r->secret_hash : std::string_view("hmac-sha256$00$00"));
  if (!r || !match) return Invalid();
  if (r->disabled) return Invalid();
  if (r->expires_at != -1 && r->expires_at <= NowUnixMillis() / 1000) return Invalid();
  Identity id;
  id.kind = Identity::Kind::kRobot;
  id.username = r->name;
  id.robot_id = r->id;
  id.robot_project_id = r->level == "project" ? r->project_id : 0;
  id.robot_updated_ms = r->update_time;
  id.robot_permissions = ParseRobotPermissions(r->permissions_json);
  id.method = "basic";
  return id;
}

StatusOr<Identity> Authenticator::User(const std::string& username, const std::string& password) {
  AuthSettings settings;
  std::shared_ptr<AuthBackend> mode_backend;
  {
    std::lock_guard<std::mutex> lock(settings_mu_);
    settings = settings_;
    mode_backend = mode_;
  }
  BERTH_ASSIGN_OR_RETURN(auto local, users_.GetByName(username));
  bool local_db = local && local->auth_source == "db";
  if (settings.mode == "db" || local_db || mode_backend == nullptr) {
    if (local && !local_db) return Invalid();  // an external user without a password here
    auto ok = db_.Authenticate(username, password, local ? local->password_hash : "");
    if (!ok.ok()) return ok.status().code() == Code::kUnauthenticated ? Invalid() : ok.status();
    if (!local) return Invalid();
    BERTH_ASSIGN_OR_RETURN(auto groups, users_.GroupIdsOf(local->user_id));
    return ForUser(*local, std::move(groups));
  }
  if (settings.mode == "oidc") {
    // OIDC users sign in to registry clients with their CLI secret.
    if (!local || local->auth_source != "oidc" || local->cli_secret_hash.empty() ||
        !VerifySecret(password, local->cli_secret_hash)) {
      return Invalid();
    }
    BERTH_ASSIGN_OR_RETURN(auto groups, users_.GroupIdsOf(local->user_id));
    Identity id = ForUser(*local, std::move(groups));
    id.method = "cli_secret";
    return id;
  }
  // LDAP (or another password backend).
  auto ext = mode_backend->Authenticate(username, password, "");
  if (!ext.ok()) return ext.status().code() == Code::kUnauthenticated ? Invalid() : ext.status();
  return Onboard(*ext, settings.mode);
}

StatusOr<Identity> Authenticator::Password(const std::string& username,
                                           const std::string& password,
                                           const std::string& remote) {
  int64_t now = NowUnixMillis();
  if (int64_t wait = limiter_.RetryAfterMs(username, remote, now); wait > 0) {
    return Status(Code::kTooManyRequests,
                  "too many failed sign-in attempts; retry in " + std::to_string((wait + 999) / 1000) +
                      " seconds");  // TOO_MANY_REQUEST on the API, TOOMANYREQUESTS on /v2
  }
  if (username.empty() || password.empty()) {
    limiter_.RecordFailure(username, remote, now);
    return Invalid();
  }
  // Robot secrets are cheap to check and may be revoked at any moment: only
  // users' (KDF-hashed) passwords are cached.
  bool robot = username.rfind(settings().robot_prefix, 0) == 0;
  if (robot) {
    auto id = Robot(username, password);
    if (id.ok()) {
      limiter_.RecordSuccess(username);
    } else if (id.status().code() == Code::kUnauthenticated) {
      limiter_.RecordFailure(username, remote, now);
      audit_.Record({0, 0, username, username, "user", "login", "failure", 0, {}});
    }
    return id;
  }
  std::string key = Digest::Of(DigestAlgorithm::kSha256, username + '\0' + password).hex;
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expires_ms > now) return it->second.id;
    auto& slot = flights_[key];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  if (!leader) {
    std::unique_lock<std::mutex> lock(flight->mu);
    flight->cv.wait(lock, [&] { return flight->result.has_value(); });
    return *flight->result;
  }
  StatusOr<Identity> id = CheckOnce(key, username, password, remote, now);
  {
    std::lock_guard<std::mutex> lock(mu_);
    flights_.erase(key);
  }
  {
    std::lock_guard<std::mutex> lock(flight->mu);
    flight->result = id;
  }
  flight->cv.notify_all();
  return id;
}

StatusOr<Identity> Authenticator::CheckInSlot(const std::string& username,
                                              const std::string& password) {
  kdf_slots_.acquire();
  struct SlotRelease {
    std::counting_semaphore<1024>& slots;
    ~SlotRelease() { slots.release(); }
  } release_slot{kdf_slots_};
  return User(username, password);
}

StatusOr<Identity> Authenticator::CheckOnce(const std::string& key, const std::string& username,
                                            const std::string& password,
                                            const std::string& remote, int64_t now) {
  StatusOr<Identity> id = CheckInSlot(username, password);
  if (!id.ok()) {
    if (id.status().code() == Code::kUnauthenticated) {
      limiter_.RecordFailure(username, remote, now);
      audit_.Record({0, 0, username, username, "user", "login", "failure", 0, {}});
    }
    return id;
  }
  limiter_.RecordSuccess(username);
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() > 10000) cache_.clear();
  cache_[key] = {*id, now + settings().credential_cache_ms};
  return id;
}

StatusOr<Identity> Authenticator::Onboard(const ExternalUser& e, const std::string& source) {
  if (e.username.empty()) return Status::Unauthenticated("the identity provider gave no username", "UNAUTHORIZED");
  std::optional<UserRecord> u;
  if (!e.subject.empty()) {
    BERTH_ASSIGN_OR_RETURN(u, users_.GetBySubject(e.subject));
  }
  if (!u) {
    BERTH_ASSIGN_OR_RETURN(u, users_.GetByName(e.username));
    if (u && (u->auth_source != source || (!u->subject.empty() && u->subject != e.subject))) {
      return Status::Conflict("the username " + e.username + " is already taken by another user",
                              "CONFLICT");
    }
  }
  if (!u) {
    UserRecord n;
    n.username = e.username;
    n.email = e.email;
    n.realname = e.realname.empty() ? e.username : e.realname;
    n.auth_source = source;
    n.subject = e.subject;
    n.admin_in_auth = e.is_admin;
    BERTH_ASSIGN_OR_RETURN(UserRecord created, users_.Create(n));
    u = created;
    audit_.Record({0, 0, e.username, e.username, "user", "create", "success", 0, {}});
    log_.Info("user onboarded", {{"username", e.username}, {"source", source}});
  } else {
    UserRecord upd = *u;
    upd.email = e.email.empty() ? u->email : e.email;
    upd.realname = e.realname.empty() ? u->realname : e.realname;
    if (upd.email != u->email || upd.realname != u->realname) BERTH_RETURN_IF_ERROR(users_.UpdateProfile(upd));
    if (u->admin_in_auth != e.is_admin) BERTH_RETURN_IF_ERROR(users_.SetAdminInAuth(u->user_id, e.is_admin));
    u = upd;
    u->admin_in_auth = e.is_admin;
  }
  std::vector<int64_t> group_ids;
  int type = source == "ldap" ? kGroupTypeLdap : kGroupTypeOidc;
  for (const auto& g : e.groups) {
    std::string name = g;
    if (type == kGroupTypeLdap) {
      // cn=developers,ou=groups,... -> developers
      size_t eq = g.find('='), comma = g.find(',');
      if (eq != std::string::npos) name = g.substr(eq + 1, comma == std::string::npos ? std::string::npos : comma - eq - 1);
    }
    BERTH_ASSIGN_OR_RETURN(auto rec, users_.EnsureGroup(name, type, type == kGroupTypeLdap ? g : ""));
    group_ids.push_back(rec.id);
  }
  BERTH_RETURN_IF_ERROR(users_.SetUserGroups(u->user_id, group_ids));
  return ForUser(*u, std::move(group_ids));
}

}  // namespace berth
