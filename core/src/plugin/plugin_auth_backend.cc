#include "plugin/plugin_auth_backend.h"

#include <cstring>

#include "common/clock.h"
#include "plugin/plugin_status.h"

namespace berth {

namespace {

berth_str Str(std::string_view s) { return {s.data(), s.size()}; }
std::string Text(berth_str s) { return std::string(s.ptr ? s.ptr : "", s.ptr ? s.len : 0); }

// Collects users the plugin add()s.
class UserSink {
 public:
  UserSink() {
    std::memset(&sink_, 0, sizeof sink_);
    sink_.struct_size = sizeof sink_;
    sink_.ctx = this;
    sink_.add = &UserSink::Add;
  }
  berth_user_sink* get() { return &sink_; }
  std::vector<ExternalUser>& users() { return users_; }

 private:
  static berth_status Add(void* ctx, const berth_user_info* u) {
    if (u == nullptr) return BERTH_E_INVALID_ARGUMENT;
    ExternalUser e;
    e.username = Text(u->username);
    e.email = Text(u->email);
    e.realname = Text(u->realname);
    e.subject = Text(u->subject);
    for (size_t i = 0; i < u->n_groups && u->groups != nullptr; ++i) e.groups.push_back(Text(u->groups[i]));
    e.is_admin = u->is_admin != 0;
    static_cast<UserSink*>(ctx)->users_.push_back(std::move(e));
    return BERTH_OK;
  }
  berth_user_sink sink_;
  std::vector<ExternalUser> users_;
};

class GroupSink {
 public:
  GroupSink() {
    std::memset(&sink_, 0, sizeof sink_);
    sink_.struct_size = sizeof sink_;
    sink_.ctx = this;
    sink_.add = [](void* ctx, const berth_group_info* g) -> berth_status {
      if (g == nullptr) return BERTH_E_INVALID_ARGUMENT;
      static_cast<GroupSink*>(ctx)->groups_.push_back({Text(g->name), Text(g->id)});
      return BERTH_OK;
    };
  }
  berth_group_sink* get() { return &sink_; }
  std::vector<ExternalGroup>& groups() { return groups_; }

 private:
  berth_group_sink sink_;
  std::vector<ExternalGroup> groups_;
};

}  // namespace

PluginAuthBackend::PluginAuthBackend(const berth_provider* provider, void* instance, Logger* log,
                                     int64_t call_timeout_ms)
    : provider_(provider),
      vt_(static_cast<const berth_auth_vtable*>(provider->vtable)),
      self_(instance),
      log_(log),
      timeout_ns_(call_timeout_ms * 1000000LL) {}

PluginAuthBackend::~PluginAuthBackend() { provider_->destroy(self_); }

berth_call_ctx PluginAuthBackend::MakeCall() const {
  berth_call_ctx c;
  std::memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.deadline_unix_ns = NowUnixNanos() + timeout_ns_;
  return c;
}

Status PluginAuthBackend::Result(berth_status rc, const std::string& err, const char* op,
                                 const berth_call_ctx& call) const {
  if (NowUnixNanos() > call.deadline_unix_ns) {
    Status s(Code::kDeadlineExceeded,
             std::string("auth backend '") + provider_->name + "' missed the deadline of " + op);
    if (log_) log_->Warn("auth plugin call failed", {{"plugin", provider_->name}, {"operation", op}, {"error", s.message()}});
    return s;
  }
  if (rc == BERTH_OK) return {};
  Status s = FromPluginStatus(rc, err.empty() ? std::string(op) + " failed: " + PluginStatusName(rc) : err);
  if (rc != BERTH_E_UNAUTHENTICATED && log_ != nullptr) {
    log_->Warn("auth plugin call failed", {{"plugin", provider_->name},
                                          {"operation", op},
                                          {"status", PluginStatusName(rc)},
                                          {"error", s.message()}});
  }
  return s;
}

Status PluginAuthBackend::Unsupported(const char* op) const {
  return Status::Unsupported(std::string("the '") + provider_->name + "' auth backend does not support " + op,
                             "UNSUPPORTED");
}

#define BERTH_AUTH_CALL(slot, ...)                                        \
  berth_status rc;                                                        \
  {                                                                       \
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);              \
    if (provider_->threading == BERTH_THREADING_SERIALIZED) lock.lock(); \
    rc = vt_->slot(self_, &call, __VA_ARGS__, err.get());                 \
  }

StatusOr<ExternalUser> PluginAuthBackend::Authenticate(std::string_view username,
                                                       std::string_view password,
                                                       std::string_view stored) {
  if (vt_->authenticate == nullptr) return Unsupported("password sign-in");
  berth_call_ctx call = MakeCall();
  StringSink err(4096);
  UserSink users;
  BERTH_AUTH_CALL(authenticate, Str(username), Str(password), Str(stored), users.get());
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "authenticate", call));
  if (users.users().size() != 1) return Status::Internal("auth plugin did not describe exactly one user");
  return std::move(users.users()[0]);
}

StatusOr<std::string> PluginAuthBackend::HashPassword(std::string_view password) {
  if (vt_->hash_password == nullptr) return Unsupported("password hashing");
  berth_call_ctx call = MakeCall();
  StringSink err(4096), out(4096);
  BERTH_AUTH_CALL(hash_password, Str(password), out.get());
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "hash_password", call));
  if (out.str().empty()) return Status::Internal("auth plugin returned an empty credential");
  return std::move(out.str());
}

StatusOr<std::vector<ExternalUser>> PluginAuthBackend::SearchUsers(std::string_view query) {
  if (vt_->search_users == nullptr) return Unsupported("user search");
  berth_call_ctx call = MakeCall();
  StringSink err(4096);
  UserSink users;
  BERTH_AUTH_CALL(search_users, Str(query), users.get());
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "search_users", call));
  return std::move(users.users());
}

StatusOr<std::vector<ExternalGroup>> PluginAuthBackend::SearchGroups(std::string_view query) {
  if (vt_->search_groups == nullptr) return Unsupported("group search");
  berth_call_ctx call = MakeCall();
  StringSink err(4096);
  GroupSink groups;
  BERTH_AUTH_CALL(search_groups, Str(query), groups.get());
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "search_groups", call));
  return std::move(groups.groups());
}

Status PluginAuthBackend::Ping(std::string_view settings) {
  if (vt_->ping == nullptr) return Unsupported("ping");
  berth_call_ctx call = MakeCall();
  StringSink err(4096);
  berth_status rc;
  {
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    if (provider_->threading == BERTH_THREADING_SERIALIZED) lock.lock();
    rc = vt_->ping(self_, &call, Str(settings), err.get());
  }
  return Result(rc, err.str(), "ping", call);
}

StatusOr<std::string> PluginAuthBackend::LoginBegin(std::string_view redirect_uri,
                                                    std::string_view state,
                                                    std::string_view nonce) {
  if (vt_->login_begin == nullptr) return Unsupported("browser sign-in");
  berth_call_ctx call = MakeCall();
  StringSink err(4096), url(16384);
  BERTH_AUTH_CALL(login_begin, Str(redirect_uri), Str(state), Str(nonce), url.get());
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "login_begin", call));
  return std::move(url.str());
}

StatusOr<std::pair<ExternalUser, std::string>> PluginAuthBackend::LoginCallback(
    std::string_view redirect_uri, std::string_view code, std::string_view nonce) {
  if (vt_->login_callback == nullptr) return Unsupported("browser sign-in");
  berth_call_ctx call = MakeCall();
  StringSink err(4096), token(65536);
  UserSink users;
  BERTH_AUTH_CALL(login_callback, Str(redirect_uri), Str(code), Str(nonce), users.get(), token.get());
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "login_callback", call));
  if (users.users().size() != 1) return Status::Internal("auth plugin did not describe exactly one user");
  return std::make_pair(std::move(users.users()[0]), std::move(token.str()));
}

StatusOr<ExternalUser> PluginAuthBackend::VerifyToken(std::string_view token) {
  if (vt_->verify_token == nullptr) return Unsupported("token verification");
  berth_call_ctx call = MakeCall();
  StringSink err(4096);
  UserSink users;
  BERTH_AUTH_CALL(verify_token, Str(token), users.get());
  BERTH_RETURN_IF_ERROR(Result(rc, err.str(), "verify_token", call));
  if (users.users().size() != 1) return Status::Internal("auth plugin did not describe exactly one user");
  return std::move(users.users()[0]);
}

}  // namespace berth
