#include "store/label_store.h"

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kLabelSelect[] =
    "l.id, l.name, l.description, l.color, COALESCE(l.project_id, 0), l.creation_time, "
    "l.update_time";

// Reads kLabelSelect starting at column `at`.
LabelRecord ReadLabel(const SqlRow& r, size_t at = 0) {
  LabelRecord l;
  l.id = r.Int(at);
  l.name = r.Text(at + 1);
  l.description = r.Text(at + 2);
  l.color = r.Text(at + 3);
  l.project_id = r.Int(at + 4);
  l.scope = l.project_id == 0 ? "g" : "p";
  l.creation_time = r.Int(at + 5);
  l.update_time = r.Int(at + 6);
  return l;
}

Status NameTaken(const std::string& name) {
  return Status::Conflict("label " + name + " already exists", "CONFLICT");
}

Status LabelNotFound(int64_t id) {
  return Status::NotFound("label " + std::to_string(id) + " not found", "NOT_FOUND");
}

// Large pages of artifacts stay under SQLite's bound-parameter limit.
constexpr size_t kIdsPerQuery = 500;

}  // namespace

StatusOr<LabelRecord> LabelStore::Create(LabelRecord label) {
  int64_t now = NowUnixMillis();
  label.creation_time = label.update_time = now;
  label.scope = label.project_id == 0 ? "g" : "p";
  SqlValue project = label.project_id == 0 ? SqlNull() : SqlInt(label.project_id);
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    if (label.project_id != 0) {
      // Checked here so that a conflict below can only be the name.
      auto p = tx.Exec("SELECT 1 FROM project WHERE project_id = $1", {SqlInt(label.project_id)});
      if (!p.ok()) return p.status();
      if (p->rows.empty()) {
        return Status::NotFound("project " + std::to_string(label.project_id) + " not found",
                                "NOT_FOUND");
      }
    }
    auto r = tx.Exec(
        "INSERT INTO label (name, description, color, project_id, creation_time, update_time) "
        "VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        {SqlText(label.name), SqlText(label.description), SqlText(label.color), project,
         SqlInt(now)});
    if (!r.ok()) return r.status();
    label.id = r->rows.at(0).Int(0);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(label.name);
  BERTH_RETURN_IF_ERROR(s);
  return label;
}

StatusOr<std::optional<LabelRecord>> LabelStore::Get(int64_t id) {
  return QueryOptionalRow(db_, SelectSql(kLabelSelect, "FROM label l WHERE l.id = $1"),
                          {SqlInt(id)}, [](const SqlRow& r) { return ReadLabel(r); });
}

StatusOr<Page<LabelRecord>> LabelStore::List(const LabelFilter& filter, const ListQuery& q) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"id", {"l.id", true}},
      {"name", {"l.name"}},
      {"description", {"l.description"}},
      {"color", {"l.color"}},
      {"scope", {"(CASE WHEN l.project_id IS NULL THEN 'g' ELSE 'p' END)"}},
      {"project_id", {"COALESCE(l.project_id, 0)", true}},
      {"creation_time", {"l.creation_time", true}},
      {"update_time", {"l.update_time", true}}};
  std::string where = "l.project_id IS NULL";
  std::vector<SqlValue> params;
  if (filter.scope == "p") {
    where = "l.project_id = $1";
    params.push_back(SqlInt(filter.project_id));
  }
  BERTH_ASSIGN_OR_RETURN(RowPage rows, RunListQuery(db_, kLabelSelect, "label l", where, params, q,
                                                    kColumns, "l.id"));
  Page<LabelRecord> page{{}, rows.total};
  for (const auto& row : rows.rows) page.items.push_back(ReadLabel(row));
  return page;
}

Status LabelStore::Update(int64_t id, const std::string& name, const std::string& description,
                          const std::string& color) {
  Status s = RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "UPDATE label SET name = $2, description = $3, color = $4, update_time = $5 WHERE id = $1",
        {SqlInt(id), SqlText(name), SqlText(description), SqlText(color),
         SqlInt(NowUnixMillis())});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return LabelNotFound(id);
    return {};
  });
  if (s.code() == Code::kConflict) return NameTaken(name);
  return s;
}

Status LabelStore::Delete(int64_t id) {
  // artifact_label rows go with it (ON DELETE CASCADE).
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM label WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return LabelNotFound(id);
    return {};
  });
}

Status LabelStore::AttachToArtifact(int64_t artifact_id, int64_t label_id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto l = tx.Exec("SELECT 1 FROM label WHERE id = $1", {SqlInt(label_id)});
    if (!l.ok()) return l.status();
    if (l->rows.empty()) return LabelNotFound(label_id);
    auto a = tx.Exec("SELECT 1 FROM artifact WHERE id = $1", {SqlInt(artifact_id)});
    if (!a.ok()) return a.status();
    if (a->rows.empty()) {
      return Status::NotFound("artifact " + std::to_string(artifact_id) + " not found",
                              "NOT_FOUND");
    }
    auto r = tx.Exec(
        "INSERT INTO artifact_label (artifact_id, label_id, creation_time) VALUES ($1, $2, $3) "
        "ON CONFLICT (artifact_id, label_id) DO NOTHING",
        {SqlInt(artifact_id), SqlInt(label_id), SqlInt(NowUnixMillis())});
    // With DO NOTHING the only violation left is a foreign key: the label or
    // artifact was deleted after the checks above (PostgreSQL).
    if (r.status().code() == Code::kConflict) {
      return Status::NotFound("label " + std::to_string(label_id) + " or artifact " +
                                  std::to_string(artifact_id) + " not found",
                              "NOT_FOUND");
    }
    if (!r.ok()) return r.status();
    if (r->affected == 0) {
      return Status::Conflict("label " + std::to_string(label_id) +
                                  " is already added to the artifact " +
                                  std::to_string(artifact_id),
                              "CONFLICT");
    }
    return {};
  });
}

Status LabelStore::DetachFromArtifact(int64_t artifact_id, int64_t label_id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM artifact_label WHERE artifact_id = $1 AND label_id = $2",
                     {SqlInt(artifact_id), SqlInt(label_id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) {
      return Status::NotFound("reference with label " + std::to_string(label_id) +
                                  " and artifact " + std::to_string(artifact_id) + " not found",
                              "NOT_FOUND");
    }
    return {};
  });
}

StatusOr<std::map<int64_t, std::vector<LabelRecord>>> LabelStore::LabelsOfArtifacts(
    const std::vector<int64_t>& artifact_ids) {
  std::map<int64_t, std::vector<LabelRecord>> out;
  std::set<int64_t> unique(artifact_ids.begin(), artifact_ids.end());
  for (int64_t id : unique) out[id];
  if (unique.empty()) return out;
  std::vector<int64_t> ids(unique.begin(), unique.end());
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    for (auto& [id, labels] : out) labels.clear();  // a retried transaction starts over
    for (size_t from = 0; from < ids.size(); from += kIdsPerQuery) {
      size_t to = std::min(ids.size(), from + kIdsPerQuery);
      std::string in;
      std::vector<SqlValue> params;
      for (size_t i = from; i < to; ++i) {
        in += (in.empty() ? "$" : ", $") + std::to_string(params.size() + 1);
        params.push_back(SqlInt(ids[i]));
      }
      auto r = tx.Exec(std::string("SELECT al.artifact_id, ") + kLabelSelect +
                           " FROM artifact_label al JOIN label l ON l.id = al.label_id "
                           "WHERE al.artifact_id IN (" + in + ") ORDER BY al.artifact_id, l.id",
                       params);
      if (!r.ok()) return r.status();
      for (const auto& row : r->rows) out[row.Int(0)].push_back(ReadLabel(row, 1));
    }
    return {};
  }));
  return out;
}

}  // namespace berth
