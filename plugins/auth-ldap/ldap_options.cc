#include "ldap_options.h"

#include <ldap.h>

#include <cstdio>
#include <fstream>
#include <iterator>

namespace berth_ldap {

const char kConfigSchema[] = R"json({
  "type": "object",
  "properties": {
    "url": {"type": "string", "pattern": "^ldaps?://[^\\s/?#]+/?$",
            "description": "ldap://host[:port] or ldaps://host[:port] (Harbor: ldap_url)"},
    "search_dn": {"type": "string",
                  "description": "DN of the service account that searches users and groups; empty: anonymous"},
    "search_password": {"type": "string", "description": "password of search_dn"},
    "base_dn": {"type": "string", "minLength": 1, "description": "where users are searched"},
    "filter": {"type": "string", "description": "extra user filter, e.g. (objectClass=person)"},
    "uid": {"type": "string", "pattern": "^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\\.[0-9]+)+)$",
            "description": "attribute matched against the username (default uid)"},
    "scope": {"enum": ["base", "onelevel", "subtree"], "description": "user search scope (default subtree)"},
    "timeout_s": {"type": "integer", "minimum": 1, "maximum": 300,
                  "description": "per-call time limit for connecting, TLS, binds and searches (default 5)"},
    "start_tls": {"type": "boolean", "description": "upgrade ldap:// connections with StartTLS"},
    "verify_cert": {"type": "boolean", "description": "verify the server certificate and name (default true)"},
    "ca_cert": {"type": "string", "description": "PEM file with the CA certificates to trust; empty: the system's"},
    "group_base_dn": {"type": "string", "description": "where groups are searched (default base_dn)"},
    "group_filter": {"type": "string", "description": "group filter, e.g. (objectClass=groupOfNames)"},
    "group_attribute": {"type": "string", "pattern": "^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\\.[0-9]+)+)$",
                        "description": "group name attribute (default cn)"},
    "group_membership_attribute": {"type": "string",
                                   "pattern": "^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\\.[0-9]+)+)$",
                                   "description": "user attribute listing group DNs (default memberof)"},
    "group_search_scope": {"enum": ["base", "onelevel", "subtree"],
                           "description": "group search scope (default subtree)"},
    "group_admin_dn": {"type": "string", "description": "members of this group are system administrators"}
  },
  "required": ["url", "base_dn"],
  "additionalProperties": false
})json";

namespace {

Status Bad(std::string_view key, std::string_view what) {
  return Status::InvalidArgument("ldap setting '" + std::string(key) + "': " + std::string(what));
}

Status GetString(const nlohmann::json& v, std::string_view key, std::string* out) {
  if (!v.is_string()) return Bad(key, "expected a string");
  *out = v.get<std::string>();
  return {};
}

Status GetBool(const nlohmann::json& v, std::string_view key, bool* out) {
  if (!v.is_boolean()) return Bad(key, "expected true or false");
  *out = v.get<bool>();
  return {};
}

Status GetScope(const nlohmann::json& v, std::string_view key, int* out) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "base") *out = LDAP_SCOPE_BASE;
    else if (s == "onelevel") *out = LDAP_SCOPE_ONELEVEL;
    else if (s == "subtree") *out = LDAP_SCOPE_SUBTREE;
    else return Bad(key, "must be one of base, onelevel, subtree");
    return {};
  }
  return Bad(key, "must be one of base, onelevel, subtree");
}

bool IsAttributeName(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (alpha(s[0])) {
    for (char c : s) {
      if (!alpha(c) && !digit(c) && c != '-') return false;
    }
    return true;
  }
  // numeric OID: digits separated by single dots, at least one dot
  bool dot = false, prev_digit = false;
  for (char c : s) {
    if (digit(c)) prev_digit = true;
    else if (c == '.' && prev_digit) { dot = true; prev_digit = false; }
    else return false;
  }
  return dot && prev_digit;
}

Status GetAttribute(const nlohmann::json& v, std::string_view key, std::string* out) {
  std::string s;
  if (Status st = GetString(v, key, &s); !st.ok()) return st;
  if (!IsAttributeName(s)) return Bad(key, "'" + s + "' is not an attribute name");
  *out = s;
  return {};
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

Status CheckUrl(const std::string& url) {
  std::string lower = AsciiLower(url);
  if (lower.rfind("ldap://", 0) != 0 && lower.rfind("ldaps://", 0) != 0) {
    return Bad("url", "must start with ldap:// or ldaps://");
  }
  for (char c : url) {
    if (c == ' ' || c == '\t' || c == '\n') return Bad("url", "must be a single URL without spaces");
  }
  LDAPURLDesc* lud = nullptr;
  int rc = ldap_url_parse(url.c_str(), &lud);
  if (rc != LDAP_URL_SUCCESS || lud == nullptr) {
    if (lud != nullptr) ldap_free_urldesc(lud);
    return Bad("url", "'" + url + "' is not a valid LDAP URL");
  }
  bool has_host = lud->lud_host != nullptr && lud->lud_host[0] != '\0';
  bool extra = (lud->lud_dn != nullptr && lud->lud_dn[0] != '\0') || lud->lud_attrs != nullptr ||
               lud->lud_filter != nullptr || lud->lud_exts != nullptr;
  ldap_free_urldesc(lud);
  if (!has_host) return Bad("url", "needs a host name");
  if (extra) return Bad("url", "must not carry a DN, attributes, scope or filter (use base_dn, filter)");
  return {};
}

Status CheckCaFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bad("ca_cert", "cannot read '" + path + "'");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Bad("ca_cert", "'" + path + "' holds no PEM certificate");
  }
  return {};
}

}  // namespace

bool Options::ldaps() const { return AsciiLower(url).rfind("ldaps://", 0) == 0; }

std::string Options::group_object_filter() const {
  if (!group_filter.empty()) return group_filter;
  return "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)"
         "(objectClass=group))";
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string EscapeFilterValue(std::string_view v) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f) {
      out += '\\';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

Status NormalizeFilter(std::string_view key, std::string_view in, std::string* out) {
  std::string f = Trim(in);
  if (f.empty()) {
    out->clear();
    return {};
  }
  if (f.front() != '(') f = "(" + f + ")";
  int depth = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c == '\\') {
      ++i;  // an escaped character never opens or closes
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) return Bad(key, "unbalanced parentheses in '" + std::string(in) + "'");
    if (depth == 0 && i + 1 < f.size() && f[i + 1] != '(') {
      return Bad(key, "text outside parentheses in '" + std::string(in) + "'");
    }
  }
  if (depth != 0) return Bad(key, "unbalanced parentheses in '" + std::string(in) + "'");
  *out = f;
  return {};
}

bool NormalizeDn(std::string_view dn, std::string* out) {
  std::string in(dn);
  char* norm = nullptr;
  int rc = ldap_dn_normalize(in.c_str(), LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3);
  if (rc != LDAP_SUCCESS) {
    if (norm != nullptr) ldap_memfree(norm);
    return false;
  }
  *out = AsciiLower(norm != nullptr ? norm : "");
  if (norm != nullptr) ldap_memfree(norm);
  return true;
}

bool DnEqual(std::string_view a, std::string_view b) {
  std::string na, nb;
  if (NormalizeDn(a, &na) && NormalizeDn(b, &nb)) return na == nb;
  return AsciiLower(a) == AsciiLower(b);
}

bool LooksLikeDn(std::string_view s) {
  if (s.find('=') == std::string_view::npos) return false;
  std::string in(s);
  LDAPDN dn = nullptr;
  int rc = ldap_str2dn(in.c_str(), &dn, LDAP_DN_FORMAT_LDAPV3);
  bool ok = rc == LDAP_SUCCESS && dn != nullptr && dn[0] != nullptr;
  if (dn != nullptr) ldap_dnfree(dn);
  return ok;
}

Status ParseOptions(const nlohmann::json& j, Options* out) {
  if (!j.is_object()) return Status::InvalidArgument("ldap settings must be a JSON object");
  Options o;
  std::string filter, group_filter;
  bool has_url = false, has_base = false;
  for (const auto& [k, v] : j.items()) {
    Status st;
    if (k == "url") { st = GetString(v, k, &o.url); has_url = true; }
    else if (k == "search_dn") st = GetString(v, k, &o.search_dn);
    else if (k == "search_password") st = GetString(v, k, &o.search_password);
    else if (k == "base_dn") { st = GetString(v, k, &o.base_dn); has_base = true; }
    else if (k == "filter") st = GetString(v, k, &filter);
    else if (k == "uid") st = GetAttribute(v, k, &o.uid);
    else if (k == "scope") st = GetScope(v, k, &o.scope);
    else if (k == "timeout_s") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 300) {
        st = Bad(k, "expected an integer from 1 to 300");
      } else {
        o.timeout_s = static_cast<int>(v.get<int64_t>());
      }
    }
    else if (k == "start_tls") st = GetBool(v, k, &o.start_tls);
    else if (k == "verify_cert") st = GetBool(v, k, &o.verify_cert);
    else if (k == "ca_cert") st = GetString(v, k, &o.ca_cert);
    else if (k == "group_base_dn") st = GetString(v, k, &o.group_base_dn);
    else if (k == "group_filter") st = GetString(v, k, &group_filter);
    else if (k == "group_attribute") st = GetAttribute(v, k, &o.group_attribute);
    else if (k == "group_membership_attribute") st = GetAttribute(v, k, &o.group_membership_attribute);
    else if (k == "group_search_scope") st = GetScope(v, k, &o.group_scope);
    else if (k == "group_admin_dn") st = GetString(v, k, &o.group_admin_dn);
    else st = Bad(k, "unknown setting");
    if (!st.ok()) return st;
  }
  if (!has_url || o.url.empty()) return Bad("url", "is required");
  if (!has_base || Trim(o.base_dn).empty()) return Bad("base_dn", "is required");
  if (Status st = CheckUrl(o.url); !st.ok()) return st;
  if (o.start_tls && o.ldaps()) {
    return Bad("start_tls", "applies to ldap:// URLs; an ldaps:// connection is already TLS");
  }
  if (!o.search_dn.empty() && o.search_password.empty()) {
    return Bad("search_password",
               "is required with search_dn (an empty password would bind anonymously)");
  }
  struct DnKey {
    const char* key;
    const std::string* value;
  };
  for (const DnKey& d : {DnKey{"base_dn", &o.base_dn}, DnKey{"search_dn", &o.search_dn},
                         DnKey{"group_base_dn", &o.group_base_dn},
                         DnKey{"group_admin_dn", &o.group_admin_dn}}) {
    std::string norm;
    if (!d.value->empty() && !NormalizeDn(*d.value, &norm)) {
      return Bad(d.key, "'" + *d.value + "' is not a valid DN");
    }
  }
  if (Status st = NormalizeFilter("filter", filter, &o.filter); !st.ok()) return st;
  if (Status st = NormalizeFilter("group_filter", group_filter, &o.group_filter); !st.ok()) return st;
  if (!o.ca_cert.empty()) {
    if (Status st = CheckCaFile(o.ca_cert); !st.ok()) return st;
  }
  *out = std::move(o);
  return {};
}

}  // namespace berth_ldap
