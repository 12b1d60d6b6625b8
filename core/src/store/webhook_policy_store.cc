#include "store/webhook_policy_store.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kSelect[] =
    "w.id, w.name, w.description, w.project_id, w.targets, w.event_types, w.creator, w.enabled, "
    "w.creation_time, w.update_time";

// Targets and event types are stored as JSON: they are only ever read and
// written whole, with the policy.
std::string TargetsJson(const std::vector<WebhookTarget>& targets) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& t : targets) {
    a.push_back({{"type", t.type},
                 {"address", t.address},
                 {"auth_header", t.auth_header},
                 {"skip_cert_verify", t.skip_cert_verify},
                 {"payload_format", t.payload_format}});
  }
  return a.dump();
}

std::vector<WebhookTarget> TargetsFrom(const std::string& text) {
  std::vector<WebhookTarget> out;
  auto a = nlohmann::json::parse(text, nullptr, false);
  if (!a.is_array()) return out;
  for (const auto& t : a) {
    if (!t.is_object()) continue;
    out.push_back({t.value("type", ""), t.value("address", ""), t.value("auth_header", ""),
                   t.value("skip_cert_verify", false), t.value("payload_format", "")});
  }
  return out;
}

std::vector<std::string> EventTypesFrom(const std::string& text) {
  std::vector<std::string> out;
  auto a = nlohmann::json::parse(text, nullptr, false);
  if (!a.is_array()) return out;
  for (const auto& t : a) {
    if (t.is_string()) out.push_back(t.get<std::string>());
  }
  return out;
}

WebhookPolicyRecord Read(const SqlRow& r) {
  WebhookPolicyRecord p;
  p.id = r.Int(0);
  p.name = r.Text(1);
  p.description = r.Text(2);
  p.project_id = r.Int(3);
  p.targets = TargetsFrom(r.Text(4));
  p.event_types = EventTypesFrom(r.Text(5));
  p.creator = r.Text(6);
  p.enabled = r.Int(7) != 0;
  p.creation_time = r.Int(8);
  p.update_time = r.Int(9);
  return p;
}

Status NameTaken(const std::string& name) {
  return Status::Conflict("webhook policy name " + name + " already exists in the project",
                          "CONFLICT");
}

Status PolicyNotFound(int64_t id) {
  return Status::NotFound("webhook policy " + std::to_string(id) + " not found", "NOT_FOUND");
}

}  // namespace

StatusOr<WebhookPolicyRecord> WebhookPolicyStore::Create(WebhookPolicyRecord p) {
  int64_t now = NowUnixMillis();
  p.creation_time = p.update_time = now;
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // Checked first so that a constraint failure below can only be the name.
    auto pr = tx.Exec("SELECT 1 FROM project WHERE project_id = $1", {SqlInt(p.project_id)});
    if (!pr.ok()) return pr.status();
    if (pr->rows.empty()) {
      return Status::NotFound("project " + std::to_string(p.project_id) + " not found", "NOT_FOUND");
    }
    auto r = tx.Exec(
        "INSERT INTO webhook_policy (name, description, project_id, targets, event_types, creator, "
        "enabled, creation_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) "
        "RETURNING id",
        {SqlText(p.name), SqlText(p.description), SqlInt(p.project_id),
         SqlText(TargetsJson(p.targets)), SqlText(nlohmann::json(p.event_types).dump()),
         SqlText(p.creator), SqlInt(p.enabled ? 1 : 0), SqlInt(now)});
    if (!r.ok()) return r.status();
    p.id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(p.name);
  BERTH_RETURN_IF_ERROR(s);
  return p;
}

StatusOr<std::optional<WebhookPolicyRecord>> WebhookPolicyStore::Get(int64_t id) {
  return QueryOptionalRow(db_, SelectSql(kSelect, "FROM webhook_policy w WHERE w.id = $1"),
                          {SqlInt(id)}, Read);
}

StatusOr<Page<WebhookPolicyRecord>> WebhookPolicyStore::List(int64_t project_id,
                                                             const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"w.id", true}},
      {"name", {"w.name"}},
      {"enabled", {"w.enabled", true}},
      {"creator", {"w.creator"}},
      {"creation_time", {"w.creation_time", true}},
      {"update_time", {"w.update_time", true}}};
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kSelect, "webhook_policy w", "w.project_id = $1",
                                      {SqlInt(project_id)}, q, kColumns, "w.id"));
  Page<WebhookPolicyRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(Read(row));
  return page;
}

StatusOr<std::vector<WebhookPolicyRecord>> WebhookPolicyStore::EnabledForProject(
    const std::string& project_name) {
  std::vector<WebhookPolicyRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(std::string("SELECT ") + kSelect +
                         " FROM webhook_policy w JOIN project p ON p.project_id = w.project_id "
                         "WHERE p.name = $1 AND w.enabled = 1 ORDER BY w.id",
                     {SqlText(project_name)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(Read(row));
    return {};
  }));
  return out;
}

Status WebhookPolicyStore::Update(const WebhookPolicyRecord& p) {
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "UPDATE webhook_policy SET name = $2, description = $3, targets = $4, event_types = $5, "
        "enabled = $6, update_time = $7 WHERE id = $1",
        {SqlInt(p.id), SqlText(p.name), SqlText(p.description), SqlText(TargetsJson(p.targets)),
         SqlText(nlohmann::json(p.event_types).dump()), SqlInt(p.enabled ? 1 : 0),
         SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return PolicyNotFound(p.id);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(p.name);
  return s;
}

Status WebhookPolicyStore::Delete(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM webhook_policy WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return PolicyNotFound(id);
    return {};
  });
}

Status WebhookPolicyStore::Triggered(int64_t policy_id, const std::string& event_type,
                                     int64_t at_ms) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // The policy may have been deleted meanwhile: nothing to record then.
    return tx
        .Exec("INSERT INTO webhook_last_trigger (policy_id, event_type, last_trigger_time) "
              "SELECT id, $2, $3 FROM webhook_policy WHERE id = $1 "
              "ON CONFLICT (policy_id, event_type) DO UPDATE SET last_trigger_time = "
              "excluded.last_trigger_time WHERE webhook_last_trigger.last_trigger_time < "
              "excluded.last_trigger_time",
              {SqlInt(policy_id), SqlText(event_type), SqlInt(at_ms)})
        .status();
  });
}

StatusOr<std::map<std::string, int64_t>> WebhookPolicyStore::LastTriggers(int64_t policy_id) {
  std::map<std::string, int64_t> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(
        "SELECT event_type, last_trigger_time FROM webhook_last_trigger WHERE policy_id = $1",
        {SqlInt(policy_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out[row.Text(0)] = row.Int(1);
    return {};
  }));
  return out;
}

}  // namespace berth
