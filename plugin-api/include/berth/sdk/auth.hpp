// Berth plugin SDK: auth backends. Include berth/plugin_sdk.hpp.
#ifndef BERTH_SDK_AUTH_HPP_
#define BERTH_SDK_AUTH_HPP_

#include <berth/sdk/core.hpp>

namespace berth::sdk {

struct UserInfo {
  std::string username;
  std::string email;
  std::string realname;
  std::string subject;
  std::vector<std::string> groups;
  bool is_admin = false;
};

struct GroupInfo {
  std::string name;
  std::string id;
};

// Optional methods return Unsupported; advertise implemented ones with
// BERTH_AUTH_CAP_* flags.
class AuthBackend {
 public:
  virtual ~AuthBackend() = default;
  virtual Status Authenticate(const CallCtx& call, std::string_view username,
                              std::string_view password, std::string_view stored_credential,
                              UserInfo* out) = 0;
  virtual Status HashPassword(const CallCtx&, std::string_view, std::string*) {
    return Status::Unsupported("password hashing is not supported by this backend");
  }
  virtual Status SearchUsers(const CallCtx&, std::string_view, std::vector<UserInfo>*) {
    return Status::Unsupported("user search is not supported by this backend");
  }
  virtual Status SearchGroups(const CallCtx&, std::string_view, std::vector<GroupInfo>*) {
    return Status::Unsupported("group search is not supported by this backend");
  }
  virtual Status Ping(const CallCtx&, std::string_view /*settings_json*/) {
    return Status::Unsupported("ping is not supported by this backend");
  }
  virtual Status LoginBegin(const CallCtx&, std::string_view /*redirect_uri*/,
                            std::string_view /*state*/, std::string_view /*nonce*/,
                            std::string* /*url*/) {
    return Status::Unsupported("browser sign-in is not supported by this backend");
  }
  virtual Status LoginCallback(const CallCtx&, std::string_view /*redirect_uri*/,
                               std::string_view /*code*/, std::string_view /*nonce*/,
                               UserInfo* /*out*/, std::string* /*id_token*/) {
    return Status::Unsupported("browser sign-in is not supported by this backend");
  }
  virtual Status VerifyToken(const CallCtx&, std::string_view, UserInfo*) {
    return Status::Unsupported("token verification is not supported by this backend");
  }
};

namespace detail {
inline berth_status AddUser(berth_user_sink* sink, const UserInfo& u) {
  if (sink == nullptr || sink->add == nullptr) return BERTH_OK;
  std::vector<berth_str> groups;
  for (const auto& g : u.groups) groups.push_back(Str(g));
  berth_user_info c;
  std::memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.username = Str(u.username);
  c.email = Str(u.email);
  c.realname = Str(u.realname);
  c.subject = Str(u.subject);
  c.groups = groups.data();
  c.n_groups = groups.size();
  c.is_admin = u.is_admin ? 1 : 0;
  return sink->add(sink->ctx, &c);
}
inline Status AddUsers(berth_user_sink* sink, const std::vector<UserInfo>& users) {
  for (const auto& u : users) {
    berth_status rc = AddUser(sink, u);
    if (rc != BERTH_OK) return Status(rc, "host refused a user");
  }
  return {};
}

template <class D>
struct AuthThunks {
  static D* Self(void* s) { return static_cast<D*>(s); }
  static berth_status Authenticate(void* s, const berth_call_ctx* c, berth_str u, berth_str p,
                                   berth_str stored, berth_user_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      UserInfo info;
      Status st = Self(s)->Authenticate(CallCtx(c), View(u), View(p), View(stored), &info);
      if (st.ok()) st = AddUsers(out, {info});
      return st;
    });
  }
  static berth_status HashPassword(void* s, const berth_call_ctx* c, berth_str p,
                                   berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::string cred;
      Status st = Self(s)->HashPassword(CallCtx(c), View(p), &cred);
      return st.ok() ? Put(out, cred) : st;
    });
  }
  static berth_status SearchUsers(void* s, const berth_call_ctx* c, berth_str q,
                                  berth_user_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::vector<UserInfo> users;
      Status st = Self(s)->SearchUsers(CallCtx(c), View(q), &users);
      return st.ok() ? AddUsers(out, users) : st;
    });
  }
  static berth_status SearchGroups(void* s, const berth_call_ctx* c, berth_str q,
                                   berth_group_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::vector<GroupInfo> groups;
      Status st = Self(s)->SearchGroups(CallCtx(c), View(q), &groups);
      if (!st.ok() || out == nullptr || out->add == nullptr) return st;
      for (const auto& g : groups) {
        berth_group_info gi;
        std::memset(&gi, 0, sizeof gi);
        gi.struct_size = sizeof gi;
        gi.name = Str(g.name);
        gi.id = Str(g.id);
        berth_status rc = out->add(out->ctx, &gi);
        if (rc != BERTH_OK) return Status(rc, "host refused a group");
      }
      return st;
    });
  }
  static berth_status Ping(void* s, const berth_call_ctx* c, berth_str settings, berth_sink* err) {
    return Guard(err, [&] { return Self(s)->Ping(CallCtx(c), View(settings)); });
  }
  static berth_status LoginBegin(void* s, const berth_call_ctx* c, berth_str redirect,
                                 berth_str state, berth_str nonce, berth_sink* out,
                                 berth_sink* err) {
    return Guard(err, [&] {
      std::string url;
      Status st = Self(s)->LoginBegin(CallCtx(c), View(redirect), View(state), View(nonce), &url);
      return st.ok() ? Put(out, url) : st;
    });
  }
  static berth_status LoginCallback(void* s, const berth_call_ctx* c, berth_str redirect,
                                    berth_str code, berth_str nonce, berth_user_sink* out,
                                    berth_sink* out_token, berth_sink* err) {
    return Guard(err, [&] {
      UserInfo info;
      std::string token;
      Status st = Self(s)->LoginCallback(CallCtx(c), View(redirect), View(code), View(nonce),
                                         &info, &token);
      if (st.ok()) st = AddUsers(out, {info});
      if (st.ok()) st = Put(out_token, token);
      return st;
    });
  }
  static berth_status VerifyToken(void* s, const berth_call_ctx* c, berth_str token,
                                  berth_user_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      UserInfo info;
      Status st = Self(s)->VerifyToken(CallCtx(c), View(token), &info);
      return st.ok() ? AddUsers(out, {info}) : st;
    });
  }
  static const berth_auth_vtable* Vtable() {
    static const berth_auth_vtable vt = {sizeof(berth_auth_vtable), &Authenticate, &HashPassword,
                                         &SearchUsers, &SearchGroups, &Ping, &LoginBegin,
                                         &LoginCallback, &VerifyToken};
    return &vt;
  }
};
}  // namespace detail

template <class D>
berth_provider MakeAuthProvider(const ProviderInfo& info) {
  return detail::MakeProvider<D>(BERTH_KIND_AUTH, info, detail::AuthThunks<D>::Vtable());
}

}  // namespace berth::sdk

#endif  // BERTH_SDK_AUTH_HPP_
