#include "notify/webhook_policy_controller.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/strings.h"

namespace berth {

namespace {

constexpr char kResource[] = "notification-policy";

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Harbor's utils.ParseEndpoint, then scheme://host/path only (Harbor drops
// the rest against SSRF tricks). "" when the address is not usable.
std::string NormalizeAddress(std::string a) {
  a = std::string(Trim(a));
  while (!a.empty() && a.back() == '/') a.pop_back();
  if (a.empty()) return "";
  std::string scheme = "http";
  if (size_t i = a.find("://"); i != std::string::npos) {
    scheme = a.substr(0, i);
    if (scheme != "http" && scheme != "https") return "";
    a = a.substr(i + 3);
  }
  size_t end = a.find_first_of("?#");
  std::string rest = a.substr(0, end);
  size_t slash = rest.find('/');
  std::string host = rest.substr(0, slash), path = slash == std::string::npos ? "" : rest.substr(slash);
  // A host name or address, and an optional numeric port (no user info).
  size_t colon = host.rfind(':');
  std::string name = host.substr(0, colon), port = colon == std::string::npos ? "" : host.substr(colon + 1);
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  if (name.empty() || (colon != std::string::npos && (port.empty() || port.size() > 5))) return "";
  for (char c : port) {
    if (c < '0' || c > '9') return "";
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' && c != ':') {
      return "";
    }
  }
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '\\' || c == '"' || c == '<' || c == '>') return "";
  }
  return scheme + "://" + host + path;
}

}  // namespace

const std::vector<std::string>& WebhookEventTypes() {
  static const std::vector<std::string> kTypes = {
      "PUSH_ARTIFACT",   "PULL_ARTIFACT",     "DELETE_ARTIFACT",    "QUOTA_EXCEED",
      "QUOTA_WARNING",   "SCANNING_FAILED",   "SCANNING_STOPPED",   "SCANNING_COMPLETED",
      "REPLICATION",     "TAG_RETENTION"};
  return kTypes;
}

const std::vector<std::string>& WebhookPayloadFormats() {
  static const std::vector<std::string> kFormats = {"Default", "CloudEvents"};
  return kFormats;
}

Status WebhookPolicyController::Validate(WebhookPolicyRecord& spec) const {
  spec.name = std::string(Trim(spec.name));
  if (spec.name.empty()) return Bad("name: a webhook policy needs a name");
  if (spec.name.size() > 256) return Bad("name: longer than 256 characters");
  if (spec.event_types.empty()) return Bad("event_types: empty event type");
  std::set<std::string> seen;
  std::vector<std::string> events;
  for (const auto& t : spec.event_types) {
    if (!Contains(WebhookEventTypes(), t)) return Bad("event_types: unsupported event type " + t);
    if (seen.insert(t).second) events.push_back(t);
  }
  spec.event_types = std::move(events);
  if (spec.targets.empty()) return Bad("targets: empty notification target with policy " + spec.name);
  std::vector<std::string> notify_types = dispatcher_.NotifyTypes();
  for (size_t i = 0; i < spec.targets.size(); ++i) {
    WebhookTarget& t = spec.targets[i];
    std::string field = "targets[" + std::to_string(i) + "].";
    if (!Contains(notify_types, t.type)) {
      return Bad(field + "type: unsupported target type '" + t.type + "' with policy " + spec.name);
    }
    std::string address = NormalizeAddress(t.address);
    if (address.empty()) {
      return Bad(field + "address: '" + t.address + "' is not an http(s) URL");
    }
    t.address = address;
    if (t.type == "slack") {
      if (!t.payload_format.empty()) return Bad(field + "payload_format: not allowed for slack");
      continue;
    }
    if (t.payload_format.empty()) t.payload_format = "Default";
    if (!Contains(WebhookPayloadFormats(), t.payload_format)) {
      return Bad(field + "payload_format: unsupported payload format type: " + t.payload_format);
    }
  }
  return {};
}

StatusOr<WebhookPolicyRecord> WebhookPolicyController::Load(const ProjectRecord& p, int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto policy, policies_.Get(id));
  if (!policy || policy->project_id != p.project_id) {
    return Status::NotFound("webhook policy " + std::to_string(id) + " not found in project " +
                                p.name,
                            "NOT_FOUND");
  }
  return *policy;
}

StatusOr<Page<WebhookPolicyRecord>> WebhookPolicyController::List(const Identity& who,
                                                                  const ProjectRecord& p,
                                                                  const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "list"));
  return policies_.List(p.project_id, q);
}

StatusOr<WebhookPolicyRecord> WebhookPolicyController::Create(const Identity& who,
                                                              const ProjectRecord& p,
                                                              WebhookPolicyRecord spec) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "create"));
  BERTH_RETURN_IF_ERROR(Validate(spec));
  spec.project_id = p.project_id;
  spec.creator = who.username;
  return policies_.Create(std::move(spec));
}

StatusOr<WebhookPolicyRecord> WebhookPolicyController::Get(const Identity& who,
                                                           const ProjectRecord& p, int64_t id) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "read"));
  return Load(p, id);
}

Status WebhookPolicyController::Update(const Identity& who, const ProjectRecord& p, int64_t id,
                                       WebhookPolicyRecord spec) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "update"));
  BERTH_RETURN_IF_ERROR(Load(p, id).status());
  BERTH_RETURN_IF_ERROR(Validate(spec));
  spec.id = id;
  spec.project_id = p.project_id;
  return policies_.Update(spec);
}

Status WebhookPolicyController::Delete(const Identity& who, const ProjectRecord& p, int64_t id) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "delete"));
  BERTH_RETURN_IF_ERROR(Load(p, id).status());
  // Its executions stay until pruned, like every finished job.
  return policies_.Delete(id);
}

StatusOr<std::vector<std::string>> WebhookPolicyController::NotifyTypes(const Identity& who,
                                                                       const ProjectRecord& p) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "read"));
  return dispatcher_.NotifyTypes();
}

StatusOr<std::vector<WebhookLastTrigger>> WebhookPolicyController::LastTriggers(
    const Identity& who, const ProjectRecord& p) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "read"));
  ListQuery all;
  all.page_size = 1000;  // Harbor lists them all; a project has a handful
  BERTH_ASSIGN_OR_RETURN(auto page, policies_.List(p.project_id, all));
  std::vector<WebhookLastTrigger> out;
  for (const auto& policy : page.items) {
    BERTH_ASSIGN_OR_RETURN(auto last, policies_.LastTriggers(policy.id));
    for (const auto& t : policy.event_types) {
      auto it = last.find(t);
      out.push_back({policy.name, t, policy.enabled, policy.creation_time,
                     it == last.end() ? 0 : it->second});
    }
  }
  return out;
}

StatusOr<JobPage> WebhookPolicyController::Executions(const Identity& who, const ProjectRecord& p,
                                                      int64_t policy_id, const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "read"));
  BERTH_RETURN_IF_ERROR(Load(p, policy_id).status());
  return jobs_.ListByVendor({kWebhookVendorType, kSlackVendorType}, policy_id, q.page, q.page_size);
}

StatusOr<JobPage> WebhookPolicyController::Jobs(const Identity& who, const ProjectRecord& p,
                                                int64_t policy_id,
                                                const std::vector<std::string>& statuses,
                                                const ListQuery& q) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "list"));
  BERTH_RETURN_IF_ERROR(Load(p, policy_id).status());
  return jobs_.ListByVendor({kWebhookVendorType, kSlackVendorType}, policy_id, q.page,
                            q.page_size, statuses);
}

StatusOr<JobRecord> WebhookPolicyController::Execution(const Identity& who, const ProjectRecord& p,
                                                       int64_t policy_id, int64_t execution_id) {
  BERTH_RETURN_IF_ERROR(projects_.Check(who, p, kResource, "read"));
  BERTH_RETURN_IF_ERROR(Load(p, policy_id).status());
  BERTH_ASSIGN_OR_RETURN(auto job, jobs_.Get(execution_id));
  if (!job || job->vendor_id != policy_id ||
      (job->vendor_type != kWebhookVendorType && job->vendor_type != kSlackVendorType)) {
    return Status::NotFound("execution " + std::to_string(execution_id) + " not found in policy " +
                                std::to_string(policy_id),
                            "NOT_FOUND");
  }
  return *job;
}

StatusOr<std::string> WebhookPolicyController::TaskLog(const Identity& who, const ProjectRecord& p,
                                                       int64_t policy_id, int64_t execution_id,
                                                       int64_t task_id) {
  BERTH_ASSIGN_OR_RETURN(JobRecord job, Execution(who, p, policy_id, execution_id));
  if (task_id != job.id) {
    return Status::NotFound("task " + std::to_string(task_id) + " not found in execution " +
                                std::to_string(execution_id),
                            "NOT_FOUND");
  }
  return jobs_.ReadLog(job.id);
}

}  // namespace berth
