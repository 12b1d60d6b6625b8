#include "auth/rbac.h"

#include <set>

namespace berth::rbac {

namespace {

// Role sets as bitmasks over role ids.
constexpr unsigned Bit(int r) { return 1u << r; }
constexpr unsigned kPA = Bit(kProjectAdmin);
constexpr unsigned kM = Bit(kMaintainer);
constexpr unsigned kD = Bit(kDeveloper);
constexpr unsigned kG = Bit(kGuest);
constexpr unsigned kLG = Bit(kLimitedGuest);
constexpr unsigned kAll = kPA | kM | kD | kG | kLG;

struct Rule {
  const char* resource;
  const char* action;
  unsigned roles;
};

// Harbor's project matrix (src/common/rbac/project/rbac_role.go).
const Rule kRules[] = {
    {"", "read", kAll},
    {"", "update", kPA},
    {"", "delete", kPA},
    {"repository", "pull", kAll},
    {"repository", "push", kPA | kM | kD},
    {"repository", "create", kPA | kM | kD},
    {"repository", "update", kPA | kM | kD},
    {"repository", "delete", kPA | kM},
    {"repository", "read", kAll},
    {"repository", "list", kAll},
    {"artifact", "read", kAll},
    {"artifact", "list", kAll},
    {"artifact", "create", kPA | kM | kD},
    {"artifact", "delete", kPA | kM},
    {"tag", "list", kAll},
    {"tag", "create", kPA | kM | kD},
    {"tag", "delete", kPA | kM},
    {"accessory", "list", kAll},
    {"artifact-addition", "read", kAll},
    {"artifact-label", "create", kPA | kM | kD},
    {"artifact-label", "delete", kPA | kM | kD},
    {"scan", "read", kAll},
    {"scan", "create", kPA | kM},
    {"scan", "stop", kPA | kM},
    {"sbom", "read", kAll},
    {"sbom", "create", kPA | kM},
    {"sbom", "stop", kPA | kM},
    {"scanner", "read", kAll},
    {"scanner", "create", kPA},
    {"member", "create", kPA},
    {"member", "update", kPA},
    {"member", "delete", kPA},
    {"member", "read", kPA | kM | kD | kG},
    {"member", "list", kPA | kM | kD | kG},
    {"metadata", "create", kPA},
    {"metadata", "update", kPA},
    {"metadata", "delete", kPA},
    {"metadata", "read", kPA | kM},
    {"label", "create", kPA | kM},
    {"label", "update", kPA | kM},
    {"label", "delete", kPA | kM},
    {"label", "read", kPA | kM | kD | kG},
    {"label", "list", kPA | kM | kD | kG},
    {"robot", "create", kPA},
    {"robot", "update", kPA},
    {"robot", "delete", kPA},
    {"robot", "read", kPA | kM | kD | kG},
    {"robot", "list", kPA | kM | kD | kG},
    {"notification-policy", "create", kPA},
    {"notification-policy", "update", kPA},
    {"notification-policy", "delete", kPA},
    {"notification-policy", "read", kPA | kM},
    {"notification-policy", "list", kPA | kM},
    {"tag-retention", "create", kPA | kM | kD},
    {"tag-retention", "read", kPA | kM | kD},
    {"tag-retention", "update", kPA | kM | kD},
    {"tag-retention", "delete", kPA | kM | kD},
    {"tag-retention", "list", kPA | kM | kD},
    {"tag-retention", "operate", kPA | kM | kD},
    {"immutable-tag", "create", kPA | kM},
    {"immutable-tag", "update", kPA | kM},
    {"immutable-tag", "delete", kPA | kM},
    {"immutable-tag", "list", kPA | kM},
    {"preheat-policy", "create", kPA},
    {"preheat-policy", "read", kPA},
    {"preheat-policy", "update", kPA},
    {"preheat-policy", "delete", kPA},
    {"preheat-policy", "list", kPA},
    {"configuration", "read", kAll},
    {"configuration", "update", kPA},
    {"log", "list", kPA},
    {"quota", "read", kAll},
    {"export-cve", "create", kPA | kM | kD},
    {"export-cve", "read", kPA | kM | kD},
    {"export-cve", "list", kPA | kM | kD},
};

// What public projects grant to everyone (rbac_util.go's public policies).
const Rule kPublic[] = {
    {"", "read", kAll},
    {"label", "read", kAll},
    {"label", "list", kAll},
    {"repository", "list", kAll},
    {"repository", "pull", kAll},
    {"scan", "read", kAll},
    {"scanner", "read", kAll},
    {"tag", "list", kAll},
    {"artifact", "read", kAll},
    {"artifact", "list", kAll},
    {"artifact-addition", "read", kAll},
    {"accessory", "list", kAll},
};

const char* const kSystemResources[] = {
    "audit-log", "catalog", "project", "user", "user-group", "registry", "replication",
    "distribution", "garbage-collection", "replication-adapter", "replication-policy",
    "scan-all", "system-volumes", "purge-audit", "export-cve", "jobservice-monitor",
    "security-hub", "label", "scanner", "quota", "preheat-instance", "robot", "ldap-user"};

bool Matches(const Rule& r, std::string_view resource, std::string_view action) {
  return resource == r.resource && action == r.action;
}

}  // namespace

bool IsValidRole(int role) { return role >= kProjectAdmin && role <= kLimitedGuest; }

const char* RoleName(int role) {
  switch (role) {
    case kProjectAdmin: return "projectAdmin";
    case kDeveloper: return "developer";
    case kGuest: return "guest";
    case kMaintainer: return "maintainer";
    case kLimitedGuest: return "limitedGuest";
    default: return "";
  }
}

bool RoleAllows(int role, std::string_view resource, std::string_view action) {
  if (!IsValidRole(role)) return false;
  for (const Rule& r : kRules) {
    if (Matches(r, resource, action)) return (r.roles & Bit(role)) != 0;
  }
  return false;
}

bool PublicAllows(std::string_view resource, std::string_view action) {
  for (const Rule& r : kPublic) {
    if (Matches(r, resource, action)) return true;
  }
  return false;
}

std::vector<Grant> RoleGrants(int role) {
  std::vector<Grant> out;
  for (const Rule& r : kRules) {
    if (IsValidRole(role) && (r.roles & Bit(role))) out.emplace_back(r.resource, r.action);
  }
  return out;
}

std::vector<Grant> ProjectPermissionCatalog() {
  std::vector<Grant> out;
  for (const Rule& r : kRules) {
    if (*r.resource != '\0') out.emplace_back(r.resource, r.action);
  }
  out.emplace_back("repository", "scanner-pull");
  return out;
}

std::vector<Grant> SystemPermissionCatalog() {
  std::vector<Grant> out;
  for (const char* res : kSystemResources) {
    std::string r = res;
    if (r == "catalog") {
      out.emplace_back(r, "read");
      continue;
    }
    for (const char* a : {"create", "read", "update", "delete", "list"}) out.emplace_back(r, a);
  }
  return out;
}

bool IsProjectResource(std::string_view resource) {
  if (resource == "repository") return true;
  for (const Rule& r : kRules) {
    if (resource == r.resource) return true;
  }
  return false;
}

bool IsSystemResource(std::string_view resource) {
  for (const char* r : kSystemResources) {
    if (resource == r) return true;
  }
  return false;
}

}  // namespace berth::rbac
