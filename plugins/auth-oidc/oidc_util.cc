#include "oidc_util.h"

#include <algorithm>
#include <set>

namespace berth::oidc {

namespace {

// Parameters login_begin sets itself; extra_redirect_parms may not override them.
const std::set<std::string> kReservedParams = {"response_type", "client_id", "redirect_uri",
                                               "scope",         "state",     "nonce"};

Status StringField(const json& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) return Status::InvalidArgument(std::string("config.") + name + ": expected string");
  *out = it->get<std::string>();
  return {};
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

// A claim as a non-empty string, or "".
std::string ClaimString(const json& claims, const std::string& name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

std::string TrimTrailingSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

bool IsHttpUrl(std::string_view s) {
  auto has = [&](std::string_view p) { return s.size() > p.size() && s.substr(0, p.size()) == p; };
  if (!has("http://") && !has("https://")) return false;
  return s.find_first_of(" \t\r\n#") == std::string_view::npos;
}

Status ParseSettings(const json& j, Settings* out) {
  if (!j.is_object()) return Status::InvalidArgument("config must be a JSON object");
  Settings s;
  std::string scope = "openid,profile,email,offline_access";
  for (auto [name, field] : {std::pair<const char*, std::string*>{"endpoint", &s.endpoint},
                             {"client_id", &s.client_id},
                             {"client_secret", &s.client_secret},
                             {"scope", &scope},
                             {"ca_cert", &s.ca_cert},
                             {"user_claim", &s.user_claim},
                             {"groups_claim", &s.groups_claim},
                             {"admin_group", &s.admin_group},
                             {"group_filter", &s.group_filter}}) {
    Status st = StringField(j, name, field);
    if (!st.ok()) return st;
  }
  if (s.endpoint.empty()) return Status::InvalidArgument("config: 'endpoint' (the OIDC issuer URL) is required");
  if (!IsHttpUrl(s.endpoint) || s.endpoint.find('?') != std::string::npos) {
    return Status::InvalidArgument("config.endpoint: must be an http(s) URL without query or fragment");
  }
  if (s.client_id.empty()) return Status::InvalidArgument("config: 'client_id' is required");
  if (s.client_secret.empty()) return Status::InvalidArgument("config: 'client_secret' is required");
  // Harbor's scope setting is comma-separated; spaces are tolerated too.
  std::string cur;
  for (char c : scope + ",") {
    if (c == ',' || c == ' ') {
      std::string t = Trim(cur);
      if (!t.empty() && std::find(s.scopes.begin(), s.scopes.end(), t) == s.scopes.end()) s.scopes.push_back(t);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (std::find(s.scopes.begin(), s.scopes.end(), "openid") == s.scopes.end()) {
    return Status::InvalidArgument("config.scope: must include \"openid\"");
  }
  if (auto v = j.find("verify_cert"); v != j.end() && !v->is_null()) {
    if (!v->is_boolean()) return Status::InvalidArgument("config.verify_cert: expected boolean");
    s.verify_cert = v->get<bool>();
  }
  if (s.groups_claim.empty()) s.groups_claim = "groups";
  if (!s.group_filter.empty()) {
    try {
      s.group_regex = std::make_shared<const std::regex>(s.group_filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("config.group_filter: not a valid regular expression (" +
                                     std::string(e.what()) + ")");
    }
  }
  if (auto x = j.find("extra_redirect_parms"); x != j.end() && !x->is_null()) {
    if (!x->is_object()) return Status::InvalidArgument("config.extra_redirect_parms: expected object");
    for (const auto& [k, v] : x->items()) {
      if (!v.is_string()) {
        return Status::InvalidArgument("config.extra_redirect_parms." + k + ": expected string");
      }
      if (kReservedParams.count(k) != 0 || k.empty()) {
        return Status::InvalidArgument("config.extra_redirect_parms: '" + k +
                                       "' is set by the sign-in flow itself and cannot be overridden");
      }
      s.extra_params.emplace_back(k, v.get<std::string>());
    }
  }
  if (auto t = j.find("timeout_ms"); t != j.end() && !t->is_null()) {
    if (!t->is_number_integer() || t->get<int64_t>() < 100 || t->get<int64_t>() > 120000) {
      return Status::InvalidArgument("config.timeout_ms: expected an integer from 100 to 120000");
    }
    s.timeout_ms = t->get<int64_t>();
  }
  *out = std::move(s);
  return {};
}

std::string UrlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

std::string AppendQuery(const std::string& url, const std::vector<std::pair<std::string, std::string>>& params) {
  std::string base = url;
  std::string fragment;
  if (size_t hash = base.find('#'); hash != std::string::npos) {
    fragment = base.substr(hash);
    base.resize(hash);
  }
  char sep = base.find('?') == std::string::npos ? '?' : '&';
  if (!base.empty() && (base.back() == '?' || base.back() == '&')) sep = '\0';
  std::string out = base;
  if (sep != '\0') out += sep;
  return out + FormEncode(params) + fragment;
}

std::string Base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = b(i) << 16;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Status UserFromClaims(const json& claims, const Settings& s, sdk::UserInfo* out) {
  sdk::UserInfo u;
  std::string sub = ClaimString(claims, "sub");
  std::string iss = ClaimString(claims, "iss");
  if (sub.empty()) return Status::Unauthenticated("ID token has no \"sub\"");
  if (!s.user_claim.empty()) {
    u.username = ClaimString(claims, s.user_claim);
    if (u.username.empty()) {
      return Status::Unauthenticated("ID token has no string claim \"" + s.user_claim +
                                     "\" (user_claim) to take the username from");
    }
  } else {
    for (const char* c : {"preferred_username", "name", "sub"}) {
      u.username = ClaimString(claims, c);
      if (!u.username.empty()) break;
    }
  }
  u.email = ClaimString(claims, "email");
  u.realname = ClaimString(claims, "name");
  u.subject = iss + "|" + sub;
  std::vector<std::string> all;
  if (auto g = claims.find(s.groups_claim); g != claims.end()) {
    if (g->is_string()) {
      all.push_back(g->get<std::string>());
    } else if (g->is_array()) {
      for (const auto& e : *g) {
        if (e.is_string() && !e.get_ref<const std::string&>().empty()) all.push_back(e.get<std::string>());
      }
    }
  }
  // Like Harbor: admin membership is read from the full groups claim, then
  // group_filter decides which groups berthd gets to see.
  u.is_admin = !s.admin_group.empty() && std::find(all.begin(), all.end(), s.admin_group) != all.end();
  for (auto& g : all) {
    if (s.group_regex && !std::regex_search(g, *s.group_regex)) continue;
    if (std::find(u.groups.begin(), u.groups.end(), g) == u.groups.end()) u.groups.push_back(std::move(g));
  }
  *out = std::move(u);
  return {};
}

}  // namespace berth::oidc
