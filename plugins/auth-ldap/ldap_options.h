// Settings of the "ldap" auth backend (Harbor's ldap_* settings without the
// prefix), their JSON Schema, and the string helpers the backend builds
// filters and compares DNs with.
#ifndef BERTH_AUTH_LDAP_LDAP_OPTIONS_H_
#define BERTH_AUTH_LDAP_LDAP_OPTIONS_H_

#include <berth/plugin_sdk.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace berth_ldap {

using berth::sdk::Status;

// The provider's config_schema_json.
extern const char kConfigSchema[];

struct Options {
  std::string url;              // ldap://host[:port] or ldaps://host[:port]
  std::string search_dn;        // service account; empty: anonymous searches
  std::string search_password;
  std::string base_dn;          // where users live
  std::string filter;           // extra user filter, normalised to "(...)" or ""
  std::string uid = "uid";      // attribute matched against the username
  int scope = 2;                // LDAP_SCOPE_SUBTREE
  int timeout_s = 5;            // per call: connect, TLS, bind and searches
  bool start_tls = false;
  bool verify_cert = true;
  std::string ca_cert;          // PEM file of trusted CAs; empty: the system's
  std::string group_base_dn;    // empty: base_dn
  std::string group_filter;     // normalised; empty: any group object class
  std::string group_attribute = "cn";
  std::string group_membership_attribute = "memberof";
  int group_scope = 2;
  std::string group_admin_dn;   // members are system administrators

  // Not settings: the trust used when ca_cert is empty (see DefaultTrust).
  std::string default_ca_file;
  std::string default_ca_dir;

  bool ldaps() const;           // url is ldaps://
  bool uses_tls() const { return ldaps() || start_tls; }
  const std::string& group_base() const { return group_base_dn.empty() ? base_dn : group_base_dn; }
  std::string group_object_filter() const;  // group_filter or the default
};

// Parses and checks a settings object (unknown keys, types, ranges, url,
// filters, attribute names, start_tls vs ldaps, search_dn without password,
// ca_cert readable). Errors are InvalidArgument naming the key.
Status ParseOptions(const nlohmann::json& j, Options* out);

// RFC 4515 escaping of an assertion value: * ( ) \ NUL and non-printable
// bytes become \XX.
std::string EscapeFilterValue(std::string_view v);

// "(objectClass=person)" stays; "objectClass=person" becomes "(objectClass=person)";
// blank becomes "". Fails when parentheses do not balance.
Status NormalizeFilter(std::string_view key, std::string_view in, std::string* out);

// The DN in a canonical form for comparisons: parsed and re-serialised
// (RFC 4514), ASCII-lowercased. Returns false when it does not parse.
bool NormalizeDn(std::string_view dn, std::string* out);
// Case-insensitive DN equality (falls back to a case-insensitive string
// comparison when either side does not parse).
bool DnEqual(std::string_view a, std::string_view b);
// True when `s` parses as a DN with at least one attribute=value RDN.
bool LooksLikeDn(std::string_view s);

std::string AsciiLower(std::string_view s);

}  // namespace berth_ldap

#endif  // BERTH_AUTH_LDAP_LDAP_OPTIONS_H_
