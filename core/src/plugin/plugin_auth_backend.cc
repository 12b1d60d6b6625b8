#include "plugin/plugin_auth_backend.h"

#include <cstring>

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
      caller_("auth", provider, log, call_timeout_ms) {}

PluginAuthBackend::~PluginAuthBackend() { provider_->destroy(self_); }

// A wrong password is an answer, not a failure: not logged.
template <class Fn>
Status PluginAuthBackend::Run(const char* op, Fn&& fn) {
  PluginCallOptions quiet;
  quiet.quiet_1 = BERTH_E_UNAUTHENTICATED;
  return caller_.Call(op, CallContext::Current(), std::forward<Fn>(fn), quiet);
}

Status PluginAuthBackend::Unsupported(const char* op) const {
  return Status::Unsupported(std::string("the '") + provider_->name + "' auth backend does not support " + op,
                             "UNSUPPORTED");
}

StatusOr<ExternalUser> PluginAuthBackend::Authenticate(std::string_view username,
                                                       std::string_view password,
                                                       std::string_view stored) {
  if (vt_->authenticate == nullptr) return Unsupported("password sign-in");
  UserSink users;
  BERTH_RETURN_IF_ERROR(Run("authenticate", [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->authenticate(self_, c, Str(username), Str(password), Str(stored), users.get(), err);
  }));
  if (users.users().size() != 1) return Status::Internal("auth plugin did not describe exactly one user");
  return std::move(users.users()[0]);
}

StatusOr<std::string> PluginAuthBackend::HashPassword(std::string_view password) {
  if (vt_->hash_password == nullptr) return Unsupported("password hashing");
  StringSink out(4096);
  BERTH_RETURN_IF_ERROR(Run("hash_password", [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->hash_password(self_, c, Str(password), out.get(), err);
  }));
  if (out.str().empty()) return Status::Internal("auth plugin returned an empty credential");
  return std::move(out.str());
}

StatusOr<std::vector<ExternalUser>> PluginAuthBackend::SearchUsers(std::string_view query) {
  if (vt_->search_users == nullptr) return Unsupported("user search");
  UserSink users;
  BERTH_RETURN_IF_ERROR(Run("search_users", [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->search_users(self_, c, Str(query), users.get(), err);
  }));
  return std::move(users.users());
}

StatusOr<std::vector<ExternalGroup>> PluginAuthBackend::SearchGroups(std::string_view query) {
  if (vt_->search_groups == nullptr) return Unsupported("group search");
  GroupSink groups;
  BERTH_RETURN_IF_ERROR(Run("search_groups", [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->search_groups(self_, c, Str(query), groups.get(), err);
  }));
  return std::move(groups.groups());
}

Status PluginAuthBackend::Ping(std::string_view settings) {
  if (vt_->ping == nullptr) return Unsupported("ping");
  return Run("ping", [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->ping(self_, c, Str(settings), err);
  });
}

StatusOr<std::string> PluginAuthBackend::LoginBegin(std::string_view redirect_uri,
                                                    std::string_view state,
                                                    std::string_view nonce) {
  if (vt_->login_begin == nullptr) return Unsupported("browser sign-in");
  StringSink url(16384);
  BERTH_RETURN_IF_ERROR(Run("login_begin", [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->login_begin(self_, c, Str(redirect_uri), Str(state), Str(nonce), url.get(), err);
  }));
  return std::move(url.str());
}

StatusOr<std::pair<ExternalUser, std::string>> PluginAuthBackend::LoginCallback(
    std::string_view redirect_uri, std::string_view code, std::string_view nonce) {
  if (vt_->login_callback == nullptr) return Unsupported("browser sign-in");
  StringSink token(65536);
  UserSink users;
  BERTH_RETURN_IF_ERROR(Run("login_callback", [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->login_callback(self_, c, Str(redirect_uri), Str(code), Str(nonce), users.get(), token.get(), err);
  }));
  if (users.users().size() != 1) return Status::Internal("auth plugin did not describe exactly one user");
  return std::make_pair(std::move(users.users()[0]), std::move(token.str()));
}

StatusOr<ExternalUser> PluginAuthBackend::VerifyToken(std::string_view token) {
  if (vt_->verify_token == nullptr) return Unsupported("token verification");
  UserSink users;
  BERTH_RETURN_IF_ERROR(Run("verify_token", [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->verify_token(self_, c, Str(token), users.get(), err);
  }));
  if (users.users().size() != 1) return Status::Internal("auth plugin did not describe exactly one user");
  return std::move(users.users()[0]);
}

}  // namespace berth
