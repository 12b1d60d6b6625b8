#include "store/immutable_rule_store.h"

#include <map>

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kRuleSelect[] =
    "i.id, i.project_id, i.disabled, i.priority, i.action, i.template_name, i.repo_kind, "
    "i.repo_decoration, i.repo_pattern, i.tag_kind, i.tag_decoration, i.tag_pattern, "
    "i.creation_time, i.update_time";

ImmutableRuleRecord ReadRule(const SqlRow& r) {
  ImmutableRuleRecord x;
  x.id = r.Int(0);
  x.project_id = r.Int(1);
  x.disabled = r.Int(2) != 0;
  x.priority = r.Int(3);
  x.action = r.Text(4);
  x.template_name = r.Text(5);
  x.repository = {r.Text(6), r.Text(7), r.Text(8)};
  x.tag = {r.Text(9), r.Text(10), r.Text(11)};
  x.creation_time = r.Int(12);
  x.update_time = r.Int(13);
  return x;
}

Status Duplicate() { return Status::Conflict("immutable rule already exists", "CONFLICT"); }

Status RuleNotFound(int64_t id) {
  return Status::NotFound("immutable rule " + std::to_string(id) + " not found", "NOT_FOUND");
}

StatusOr<std::vector<ImmutableRuleRecord>> ReadRules(SqlTransaction& tx, const std::string& where,
                                                     const std::vector<SqlValue>& params) {
  auto r = tx.Exec(SelectSql(kRuleSelect, "FROM immutable_tag_rule i ") + where + " ORDER BY i.id",
                   params);
  if (!r.ok()) return r.status();
  std::vector<ImmutableRuleRecord> out;
  for (const auto& row : r->rows) out.push_back(ReadRule(row));
  return out;
}

}  // namespace

StatusOr<ImmutableRuleRecord> ImmutableRuleStore::Create(ImmutableRuleRecord rule,
                                                         int64_t max_per_project) {
  int64_t now = NowUnixMillis();
  rule.creation_time = rule.update_time = now;
  bool pg = db_.dialect() == SqlDialect::kPostgres;
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // The project row's lock serialises creations in one project, so two at
    // once cannot both pass the limit (SQLite has one writer anyway).
    auto p = tx.Exec(std::string("SELECT 1 FROM project WHERE project_id = $1") +
                         (pg ? " FOR UPDATE" : ""),
                     {SqlInt(rule.project_id)});
    if (!p.ok()) return p.status();
    if (p->rows.empty()) {
      return Status::NotFound("project " + std::to_string(rule.project_id) + " not found",
                              "NOT_FOUND");
    }
    auto n = tx.Exec("SELECT COUNT(*) FROM immutable_tag_rule WHERE project_id = $1",
                     {SqlInt(rule.project_id)});
    if (!n.ok()) return n.status();
    if (n->rows[0].Int(0) >= max_per_project) {
      return Status::InvalidArgument("a project has at most " + std::to_string(max_per_project) +
                                         " immutable tag rules",
                                     "BAD_REQUEST");
    }
    auto r = tx.Exec(
        "INSERT INTO immutable_tag_rule (project_id, disabled, priority, action, template_name, "
        "repo_kind, repo_decoration, repo_pattern, tag_kind, tag_decoration, tag_pattern, "
        "creation_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "$12) RETURNING id",
        {SqlInt(rule.project_id), SqlInt(rule.disabled ? 1 : 0), SqlInt(rule.priority),
         SqlText(rule.action), SqlText(rule.template_name), SqlText(rule.repository.kind),
         SqlText(rule.repository.decoration), SqlText(rule.repository.pattern),
         SqlText(rule.tag.kind), SqlText(rule.tag.decoration), SqlText(rule.tag.pattern),
         SqlInt(now)});
    if (!r.ok()) return r.status();
    rule.id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) return Duplicate();
  BERTH_RETURN_IF_ERROR(s);
  return rule;
}

StatusOr<std::optional<ImmutableRuleRecord>> ImmutableRuleStore::Get(int64_t id) {
  std::optional<ImmutableRuleRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto rules, ReadRules(tx, "WHERE i.id = $1", {SqlInt(id)}));
    out.reset();
    if (!rules.empty()) out = rules[0];
    return {};
  }));
  return out;
}

StatusOr<Page<ImmutableRuleRecord>> ImmutableRuleStore::List(int64_t project_id,
                                                             const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"i.id", true}},
      {"priority", {"i.priority", true}},
      {"disabled", {"(CASE WHEN i.disabled = 0 THEN 'false' ELSE 'true' END)"}},
  };
  BERTH_ASSIGN_OR_RETURN(RowPage rows,
                         RunListQuery(db_, kRuleSelect, "immutable_tag_rule i",
                                      "i.project_id = $1", {SqlInt(project_id)}, q, kColumns,
                                      "i.id"));
  Page<ImmutableRuleRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadRule(row));
  return page;
}

Status ImmutableRuleStore::Update(const ImmutableRuleRecord& rule) {
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "UPDATE immutable_tag_rule SET disabled = $2, priority = $3, action = $4, "
        "template_name = $5, repo_kind = $6, repo_decoration = $7, repo_pattern = $8, "
        "tag_kind = $9, tag_decoration = $10, tag_pattern = $11, update_time = $12 WHERE id = $1",
        {SqlInt(rule.id), SqlInt(rule.disabled ? 1 : 0), SqlInt(rule.priority),
         SqlText(rule.action), SqlText(rule.template_name), SqlText(rule.repository.kind),
         SqlText(rule.repository.decoration), SqlText(rule.repository.pattern),
         SqlText(rule.tag.kind), SqlText(rule.tag.decoration), SqlText(rule.tag.pattern),
         SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return RuleNotFound(rule.id);
    return {};
  });
  if (s.code() == Code::kConflict) return Duplicate();
  return s;
}

Status ImmutableRuleStore::Delete(int64_t id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM immutable_tag_rule WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return RuleNotFound(id);
    return {};
  });
}

StatusOr<std::vector<ImmutableRuleRecord>> ImmutableRuleStore::EnabledRules(int64_t project_id) {
  std::vector<ImmutableRuleRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(out, ReadRules(tx, "WHERE i.project_id = $1 AND i.disabled = 0",
                                          {SqlInt(project_id)}));
    return {};
  }));
  return out;
}

TagGuard ImmutableRuleStore::Guard(ImmutableDecision decide) const {
  return [decide = std::move(decide)](SqlTransaction& tx, std::string_view repository,
                                      const std::vector<std::string>& tags,
                                      TagChange change) -> Status {
    // The project is the repository name's first component, as everywhere.
    std::string_view project = repository.substr(0, repository.find('/'));
    BERTH_ASSIGN_OR_RETURN(
        auto rules,
        ReadRules(tx,
                  "JOIN project p ON p.project_id = i.project_id WHERE p.name = $1 AND "
                  "i.disabled = 0",
                  {SqlText(project)}));
    if (rules.empty()) return {};
    return decide(rules, repository, tags, change);
  };
}

}  // namespace berth
