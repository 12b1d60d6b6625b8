// auth-ldap: the "ldap" auth backend. Password sign-in against an LDAP
// directory the way Harbor's ldap auth mode does it: search the user with a
// service account, bind as the entry found, read its groups (memberOf, or a
// search of groups naming the user), and grant system administrator to
// members of group_admin_dn. Also user/group search for the UI and a ping
// that tests settings before they are saved.
//
// Reentrant: every call opens its own libldap connection (see ldap_session.h).
#include <berth/plugin_sdk.hpp>
#include <ldap.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ldap_options.h"
#include "ldap_session.h"

namespace berth_ldap {
namespace {

using berth::sdk::GroupInfo;
using berth::sdk::Host;
using berth::sdk::UserInfo;

// Wrong password, unknown user, ambiguous user, empty password: one answer.
constexpr char kBadCredentials[] = "invalid username or password";
constexpr size_t kMaxQuery = 256;
constexpr int kMaxResults = 100;   // search_users / search_groups
constexpr int kMaxGroups = 1000;   // groups of one user (fallback search)

#define LDAP_RETURN_IF_ERROR(expr)   \
  do {                               \
    Status _st = (expr);             \
    if (!_st.ok()) return _st;       \
  } while (0)

// A failed service bind during sign-in or search is the server's or the
// configuration's problem, never the signing-in user's.
Status ServiceProblem(Status st) {
  if (st.code() == BERTH_E_UNAUTHENTICATED) {
    return Status::IO(st.message() + " (check search_dn and search_password)");
  }
  return st;
}

class LdapBackend : public berth::sdk::AuthBackend {
 public:
  static Status Create(const Host& host, std::string_view config, std::unique_ptr<LdapBackend>* out) {
    auto j = nlohmann::json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
    if (j.is_discarded()) return Status::InvalidArgument("ldap: the configuration is not valid JSON");
    Options o;
    LDAP_RETURN_IF_ERROR(ParseOptions(j, &o));
    DefaultTrust(&o.default_ca_file, &o.default_ca_dir);
    LDAP_RETURN_IF_ERROR(InitLibrary(o));
    out->reset(new LdapBackend(host, std::move(j), std::move(o)));
    return {};
  }

  Status Authenticate(const CallCtx& call, std::string_view username, std::string_view password,
                      std::string_view /*stored_credential*/, UserInfo* out) override {
    // An empty password would make the user bind an "unauthenticated bind",
    // which many servers accept as anonymous.
    if (username.empty() || password.empty() || username.size() > kMaxQuery) {
      return Status::Unauthenticated(kBadCredentials);
    }
    Deadline deadline(call, o_.timeout_s);
    std::unique_ptr<Session> s;
    LDAP_RETURN_IF_ERROR(Session::Open(o_, deadline, &s));
    LDAP_RETURN_IF_ERROR(ServiceProblem(s->BindService()));

    SearchResult r;
    std::string filter = "(&(" + o_.uid + "=" + EscapeFilterValue(username) + ")" + o_.filter + ")";
    LDAP_RETURN_IF_ERROR(s->Search(o_.base_dn, o_.scope, filter, UserAttributes(), 2, &r));
    if (r.no_such_base) return MissingBase("base_dn", o_.base_dn, o_.url);
    if (r.entries.size() != 1) {
      if (!r.entries.empty()) {
        Log(BERTH_LOG_WARN, "ldap: sign-in refused: more than one entry under '" + o_.base_dn +
                                "' matches " + o_.uid + "=" + EscapeFilterValue(username));
      }
      return Status::Unauthenticated(kBadCredentials);
    }
    const Entry& e = r.entries.front();

    int result = LDAP_OTHER;
    LDAP_RETURN_IF_ERROR(s->Bind(e.dn, password, &result));
    switch (result) {
      case LDAP_SUCCESS:
        break;
      case LDAP_BUSY:
      case LDAP_UNAVAILABLE:
        return Status::Retry("ldap: the server at " + o_.url + " is busy or unavailable: " +
                             ldap_err2string(result));
      case LDAP_OTHER:
      case LDAP_OPERATIONS_ERROR:
      case LDAP_PROTOCOL_ERROR:
        return Status::IO("ldap: bind to " + o_.url + " failed: " + ldap_err2string(result));
      default:  // invalid credentials, locked account, expired password, ...
        return Status::Unauthenticated(kBadCredentials);
    }

    UserInfo u;
    u.subject = e.dn;
    u.username = MatchingValue(e, o_.uid, username);
    u.email = FirstOf(e, {"mail", "email"});
    u.realname = FirstOf(e, {"displayName", "cn"});

    // Later searches run as the service account again, not as the user.
    bool rebound = false;
    auto rebind = [&]() -> Status {
      if (rebound) return {};
      rebound = true;
      return ServiceProblem(s->BindService());
    };
    const auto* member_of = e.Values(o_.group_membership_attribute);
    if (member_of != nullptr && !member_of->empty()) {
      u.groups = *member_of;
    } else {
      LDAP_RETURN_IF_ERROR(rebind());
      LDAP_RETURN_IF_ERROR(GroupsNaming(*s, e.dn, u.username, &u.groups));
    }
    if (!o_.group_admin_dn.empty()) {
      u.is_admin = std::any_of(u.groups.begin(), u.groups.end(),
                               [&](const std::string& g) { return DnEqual(g, o_.group_admin_dn); });
      if (!u.is_admin) {
        LDAP_RETURN_IF_ERROR(rebind());
        LDAP_RETURN_IF_ERROR(IsMember(*s, o_.group_admin_dn, e.dn, u.username, &u.is_admin));
      }
    }
    *out = std::move(u);
    return {};
  }

  Status SearchUsers(const CallCtx& call, std::string_view query, std::vector<UserInfo>* out) override {
    if (query.size() > kMaxQuery) return Status::InvalidArgument("ldap: the query is too long");
    Deadline deadline(call, o_.timeout_s);
    std::unique_ptr<Session> s;
    LDAP_RETURN_IF_ERROR(Session::Open(o_, deadline, &s));
    LDAP_RETURN_IF_ERROR(ServiceProblem(s->BindService()));
    SearchResult r;
    std::string filter = "(&(" + o_.uid + "=" + EscapeFilterValue(query) + "*)" + o_.filter + ")";
    LDAP_RETURN_IF_ERROR(s->Search(o_.base_dn, o_.scope, filter, UserAttributes(), kMaxResults, &r));
    if (r.no_such_base) return MissingBase("base_dn", o_.base_dn, o_.url);
    std::vector<UserInfo> users;
    for (const Entry& e : r.entries) {
      UserInfo u;
      u.username = MatchingPrefix(e, o_.uid, query);
      if (u.username.empty()) continue;
      u.subject = e.dn;
      u.email = FirstOf(e, {"mail", "email"});
      u.realname = FirstOf(e, {"displayName", "cn"});
      users.push_back(std::move(u));
    }
    std::sort(users.begin(), users.end(),
              [](const UserInfo& a, const UserInfo& b) { return a.username < b.username; });
    *out = std::move(users);
    return {};
  }

  Status SearchGroups(const CallCtx& call, std::string_view query,
                      std::vector<GroupInfo>* out) override {
    if (query.size() > kMaxQuery) return Status::InvalidArgument("ldap: the query is too long");
    Deadline deadline(call, o_.timeout_s);
    std::unique_ptr<Session> s;
    LDAP_RETURN_IF_ERROR(Session::Open(o_, deadline, &s));
    LDAP_RETURN_IF_ERROR(ServiceProblem(s->BindService()));
    SearchResult r;
    std::vector<std::string> attrs = {o_.group_attribute};
    if (LooksLikeDn(query)) {
      // A group DN: that group, if it is one.
      LDAP_RETURN_IF_ERROR(s->Search(std::string(query), LDAP_SCOPE_BASE, o_.group_object_filter(),
                                     attrs, 1, &r));
    } else {
      std::string filter = "(&" + o_.group_object_filter() + "(" + o_.group_attribute + "=" +
                           EscapeFilterValue(query) + "*))";
      LDAP_RETURN_IF_ERROR(s->Search(o_.group_base(), o_.group_scope, filter, attrs, kMaxResults, &r));
      if (r.no_such_base) {
        return MissingBase(o_.group_base_dn.empty() ? "base_dn" : "group_base_dn", o_.group_base(),
                           o_.url);
      }
    }
    std::vector<GroupInfo> groups;
    for (const Entry& e : r.entries) {
      GroupInfo g;
      g.name = e.First(o_.group_attribute);
      if (g.name.empty()) g.name = RdnValue(e.dn);
      g.id = e.dn;
      groups.push_back(std::move(g));
    }
    std::sort(groups.begin(), groups.end(),
              [](const GroupInfo& a, const GroupInfo& b) { return a.name < b.name; });
    *out = std::move(groups);
    return {};
  }

  Status Ping(const CallCtx& call, std::string_view settings_json) override {
    Options o;
    LDAP_RETURN_IF_ERROR(Settings(settings_json, &o));
    Deadline deadline(call, o.timeout_s);
    std::unique_ptr<Session> s;
    LDAP_RETURN_IF_ERROR(Session::Open(o, deadline, &s));
    LDAP_RETURN_IF_ERROR(s->BindService());
    SearchResult r;
    LDAP_RETURN_IF_ERROR(s->Search(o.base_dn, LDAP_SCOPE_BASE, "(objectClass=*)", {}, 1, &r));
    if (r.no_such_base) return Status::NotFound(MissingBase("base_dn", o.base_dn, o.url).message());
    if (!o.group_base_dn.empty()) {
      LDAP_RETURN_IF_ERROR(s->Search(o.group_base_dn, LDAP_SCOPE_BASE, "(objectClass=*)", {}, 1, &r));
      if (r.no_such_base) {
        return Status::NotFound(MissingBase("group_base_dn", o.group_base_dn, o.url).message());
      }
    }
    return {};
  }

 private:
  LdapBackend(const Host& host, nlohmann::json config, Options o)
      : host_(host), config_(std::move(config)), o_(std::move(o)) {}

  void Log(int32_t level, const std::string& msg) const { host_.Log(level, msg); }

  std::vector<std::string> UserAttributes() const {
    return {o_.uid, "mail", "email", "cn", "displayName", o_.group_membership_attribute};
  }

  static Status MissingBase(const char* key, const std::string& dn, const std::string& url) {
    return Status::IO("ldap: " + std::string(key) + " '" + dn + "' does not exist on " + url);
  }

  static std::string FirstOf(const Entry& e, std::initializer_list<const char*> attrs) {
    for (const char* a : attrs) {
      std::string v = e.First(a);
      if (!v.empty()) return v;
    }
    return {};
  }

  // The value of `attr` equal to `want` ignoring case (the stored spelling),
  // else the first value, else `want`.
  static std::string MatchingValue(const Entry& e, const std::string& attr, std::string_view want) {
    const auto* v = e.Values(attr);
    if (v == nullptr || v->empty()) return std::string(want);
    for (const auto& s : *v) {
      if (AsciiLower(s) == AsciiLower(want)) return s;
    }
    return v->front();
  }

  // The value of `attr` starting with `prefix` ignoring case, else the first.
  static std::string MatchingPrefix(const Entry& e, const std::string& attr, std::string_view prefix) {
    const auto* v = e.Values(attr);
    if (v == nullptr || v->empty()) return {};
    std::string p = AsciiLower(prefix);
    for (const auto& s : *v) {
      if (AsciiLower(s).rfind(p, 0) == 0) return s;
    }
    return v->front();
  }

  // The value of the first RDN of a DN ("cn=admins,..." -> "admins").
  static std::string RdnValue(const std::string& dn) {
    std::string in = dn;
    LDAPDN parsed = nullptr;
    std::string out;
    if (ldap_str2dn(in.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && parsed != nullptr &&
        parsed[0] != nullptr && parsed[0][0] != nullptr) {
      const berval& v = parsed[0][0]->la_value;
      out.assign(v.bv_val, v.bv_len);
    }
    if (parsed != nullptr) ldap_dnfree(parsed);
    return out.empty() ? dn : out;
  }

  std::string MemberFilter(const std::string& dn, const std::string& uid) const {
    std::string d = EscapeFilterValue(dn);
    return "(|(member=" + d + ")(uniqueMember=" + d + ")(memberUid=" + EscapeFilterValue(uid) + "))";
  }

  // Groups under the group base whose member, uniqueMember or memberUid
  // names the user: for directories without a membership attribute.
  Status GroupsNaming(Session& s, const std::string& dn, const std::string& uid,
                      std::vector<std::string>* out) const {
    SearchResult r;
    std::string filter = "(&" + o_.group_object_filter() + MemberFilter(dn, uid) + ")";
    LDAP_RETURN_IF_ERROR(s.Search(o_.group_base(), o_.group_scope, filter, {}, kMaxGroups, &r));
    if (r.no_such_base) {
      Log(BERTH_LOG_WARN, MissingBase(o_.group_base_dn.empty() ? "base_dn" : "group_base_dn",
                                      o_.group_base(), o_.url)
                              .message());
      return {};
    }
    if (r.truncated) {
      Log(BERTH_LOG_WARN, "ldap: '" + dn + "' is in more than " + std::to_string(kMaxGroups) +
                              " groups; the rest are ignored");
    }
    for (const Entry& e : r.entries) out->push_back(e.dn);
    return {};
  }

  // Whether the group `group_dn` names the user as a member.
  Status IsMember(Session& s, const std::string& group_dn, const std::string& dn,
                  const std::string& uid, bool* out) const {
    SearchResult r;
    LDAP_RETURN_IF_ERROR(s.Search(group_dn, LDAP_SCOPE_BASE, MemberFilter(dn, uid), {}, 1, &r));
    if (r.no_such_base) {
      Log(BERTH_LOG_WARN, "ldap: group_admin_dn '" + group_dn + "' does not exist on " + o_.url);
    }
    *out = !r.entries.empty();
    return {};
  }

  // Ping settings: the configuration with the given keys replaced (null
  // removes a key); empty means the configuration as it is.
  Status Settings(std::string_view settings_json, Options* out) const {
    bool blank = std::all_of(settings_json.begin(), settings_json.end(),
                             [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
    if (blank) {
      *out = o_;
      return {};
    }
    auto j = nlohmann::json::parse(settings_json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::InvalidArgument("ldap: ping settings must be a JSON object");
    }
    nlohmann::json merged = config_;
    for (const auto& [k, v] : j.items()) {
      if (v.is_null()) merged.erase(k);
      else merged[k] = v;
    }
    LDAP_RETURN_IF_ERROR(ParseOptions(merged, out));
    out->default_ca_file = o_.default_ca_file;
    out->default_ca_dir = o_.default_ca_dir;
    return {};
  }

  Host host_;
  nlohmann::json config_;
  Options o_;
};

const berth_provider kLdap = berth::sdk::MakeAuthProvider<LdapBackend>(
    {"ldap", "LDAP / Active Directory sign-in (Harbor's ldap auth mode)", kConfigSchema,
     BERTH_AUTH_CAP_PASSWORD | BERTH_AUTH_CAP_SEARCH_USERS | BERTH_AUTH_CAP_SEARCH_GROUPS |
         BERTH_AUTH_CAP_PING,
     BERTH_THREADING_REENTRANT});

}  // namespace
}  // namespace berth_ldap

BERTH_PLUGIN("auth-ldap", "1.0.0", "LDAP auth backend", &berth_ldap::kLdap)
