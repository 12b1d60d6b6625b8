#include "store/storage_accounting.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "common/clock.h"

namespace berth {
namespace accounting {

namespace {

// Whether the project references the digest (any of the three sources), the
// digest's size, and what project_blob holds for it (NULL when nothing).
constexpr char kChargeStateSql[] =
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM artifact_blob ab "
    "JOIN artifact a ON a.id = ab.artifact_id JOIN repository r ON r.id = a.repository_id "
    "WHERE ab.digest = $2 AND r.project_id = $1) "
    "OR EXISTS (SELECT 1 FROM artifact a JOIN repository r ON r.id = a.repository_id "
    "WHERE a.digest = $2 AND r.project_id = $1) "
    "OR EXISTS (SELECT 1 FROM blob_pending bp JOIN repository r ON r.id = bp.repository_id "
    "JOIN repository_blob rb ON rb.repository_id = bp.repository_id AND rb.digest = bp.digest "
    "WHERE bp.digest = $2 AND r.project_id = $1) THEN 1 ELSE 0 END, "
    "COALESCE((SELECT size FROM blob WHERE digest = $2), "
    "(SELECT MAX(a.manifest_size) FROM artifact a JOIN repository r ON r.id = a.repository_id "
    "WHERE a.digest = $2 AND r.project_id = $1), 0), "
    "(SELECT size FROM project_blob WHERE project_id = $1 AND digest = $2)";

// Everything the project references, from scratch (see the header).
constexpr char kRecountSql[] =
    "SELECT c.digest, MAX(c.size) FROM ("
    "SELECT ab.digest AS digest, COALESCE(b.size, 0) AS size FROM artifact_blob ab "
    "JOIN artifact a ON a.id = ab.artifact_id JOIN repository r ON r.id = a.repository_id "
    "LEFT JOIN blob b ON b.digest = ab.digest WHERE r.project_id = $1 "
    "UNION ALL "
    "SELECT a.digest, a.manifest_size FROM artifact a "
    "JOIN repository r ON r.id = a.repository_id WHERE r.project_id = $1 "
    "UNION ALL "
    "SELECT bp.digest, COALESCE(b.size, 0) FROM blob_pending bp "
    "JOIN repository r ON r.id = bp.repository_id "
    "JOIN repository_blob rb ON rb.repository_id = bp.repository_id AND rb.digest = bp.digest "
    "LEFT JOIN blob b ON b.digest = bp.digest WHERE r.project_id = $1"
    ") c GROUP BY c.digest";

Status SetUsed(SqlTransaction& tx, LockedQuota& q, int64_t used) {
  auto r = tx.Exec("UPDATE quota SET used_storage = $2, update_time = $3 WHERE id = $1",
                   {SqlInt(q.id), SqlInt(used), SqlInt(NowUnixMillis())});
  if (!r.ok()) return r.status();
  q.used = used;
  return {};
}

}  // namespace

StatusOr<int64_t> ProjectOfRepository(SqlTransaction& tx, std::string_view repo) {
  std::string_view project = repo.substr(0, repo.find('/'));
  auto r = tx.Exec(
      "SELECT COALESCE((SELECT project_id FROM repository WHERE name = $1), "
      "(SELECT project_id FROM project WHERE name = $2), 0)",
      {SqlText(repo), SqlText(project)});
  if (!r.ok()) return r.status();
  return r->rows.at(0).Int(0);
}

StatusOr<int64_t> HardLimit(SqlTransaction& tx, int64_t project_id) {
  if (project_id <= 0) return int64_t{-1};
  auto r = tx.Exec(
      "SELECT hard_storage FROM quota WHERE reference = 'project' AND reference_id = $1",
      {SqlInt(project_id)});
  if (!r.ok()) return r.status();
  return r->rows.empty() ? int64_t{-1} : r->rows[0].Int(0);
}

StatusOr<std::optional<LockedQuota>> Lock(SqlTransaction& tx, SqlDialect dialect,
                                          int64_t project_id) {
  if (project_id <= 0) return std::optional<LockedQuota>();
  // SQLite transactions that write already hold the database's only write
  // lock (BEGIN IMMEDIATE); PostgreSQL locks the row.
  std::string select =
      "SELECT id, hard_storage, used_storage FROM quota WHERE reference = 'project' AND "
      "reference_id = $1";
  if (dialect == SqlDialect::kPostgres) select += " FOR UPDATE";
  auto r = tx.Exec(select, {SqlInt(project_id)});
  if (!r.ok()) return r.status();
  if (!r->rows.empty()) {
    const auto& row = r->rows[0];
    return std::optional<LockedQuota>(LockedQuota{row.Int(0), project_id, row.Int(1), row.Int(2)});
  }
  // A project without a quota row (created by code that predates quotas):
  // give it an unlimited one, charged with what it holds.
  auto exists = tx.Exec("SELECT 1 FROM project WHERE project_id = $1", {SqlInt(project_id)});
  if (!exists.ok()) return exists.status();
  if (exists->rows.empty()) return std::optional<LockedQuota>();
  BERTH_ASSIGN_OR_RETURN(LockedQuota q, CreateProjectQuota(tx, dialect, project_id, -1));
  return std::optional<LockedQuota>(q);
}

StatusOr<int64_t> Reconcile(SqlTransaction& tx, LockedQuota& q,
                            const std::set<std::string>& digests, bool enforce) {
  std::vector<std::pair<std::string, int64_t>> add;
  std::vector<std::string> drop;
  int64_t delta = 0;
  for (const auto& d : digests) {
    auto r = tx.Exec(kChargeStateSql, {SqlInt(q.project_id), SqlText(d)});
    if (!r.ok()) return r.status();
    const SqlRow& row = r->rows.at(0);
    bool referenced = row.Int(0) != 0;
    bool charged = !row.IsNull(2);
    if (referenced && !charged) {
      add.emplace_back(d, row.Int(1));
      delta += row.Int(1);
    } else if (!referenced && charged) {
      drop.push_back(d);
      delta -= row.Int(2);
    }
  }
  if (enforce && delta > 0 && q.hard >= 0 && q.used + delta > q.hard) {
    return QuotaExceeded(delta, q.used, q.hard);
  }
  for (const auto& [d, size] : add) {
    auto r = tx.Exec("INSERT INTO project_blob (project_id, digest, size) VALUES ($1, $2, $3)",
                     {SqlInt(q.project_id), SqlText(d), SqlInt(size)});
    if (!r.ok()) return r.status();
  }
  for (const auto& d : drop) {
    auto r = tx.Exec("DELETE FROM project_blob WHERE project_id = $1 AND digest = $2",
                     {SqlInt(q.project_id), SqlText(d)});
    if (!r.ok()) return r.status();
  }
  if (!add.empty() || !drop.empty()) BERTH_RETURN_IF_ERROR(SetUsed(tx, q, q.used + delta));
  return delta;
}

StatusOr<RecountResult> Recount(SqlTransaction& tx, LockedQuota& q) {
  auto want = tx.Exec(kRecountSql, {SqlInt(q.project_id)});
  if (!want.ok()) return want.status();
  std::map<std::string, int64_t> wanted;
  for (const auto& row : want->rows) wanted[row.Text(0)] = row.Int(1);
  auto have = tx.Exec("SELECT digest, size FROM project_blob WHERE project_id = $1",
                      {SqlInt(q.project_id)});
  if (!have.ok()) return have.status();
  std::map<std::string, int64_t> had;
  for (const auto& row : have->rows) had[row.Text(0)] = row.Int(1);

  for (const auto& [d, size] : had) {
    auto it = wanted.find(d);
    if (it == wanted.end()) {
      auto r = tx.Exec("DELETE FROM project_blob WHERE project_id = $1 AND digest = $2",
                       {SqlInt(q.project_id), SqlText(d)});
      if (!r.ok()) return r.status();
    } else if (it->second != size) {
      auto r = tx.Exec("UPDATE project_blob SET size = $3 WHERE project_id = $1 AND digest = $2",
                       {SqlInt(q.project_id), SqlText(d), SqlInt(it->second)});
      if (!r.ok()) return r.status();
    }
  }
  int64_t total = 0;
  for (const auto& [d, size] : wanted) {
    total += size;
    if (had.count(d)) continue;
    auto r = tx.Exec("INSERT INTO project_blob (project_id, digest, size) VALUES ($1, $2, $3)",
                     {SqlInt(q.project_id), SqlText(d), SqlInt(size)});
    if (!r.ok()) return r.status();
  }
  RecountResult out{q.project_id, q.used, total, static_cast<int64_t>(wanted.size())};
  BERTH_RETURN_IF_ERROR(SetUsed(tx, q, total));
  return out;
}

StatusOr<LockedQuota> CreateProjectQuota(SqlTransaction& tx, SqlDialect dialect,
                                         int64_t project_id, int64_t hard) {
  int64_t now = NowUnixMillis();
  auto ins = tx.Exec(
      "INSERT INTO quota (reference, reference_id, hard_storage, used_storage, creation_time, "
      "update_time) VALUES ('project', $1, $2, 0, $3, $3) "
      "ON CONFLICT (reference, reference_id) DO NOTHING",
      {SqlInt(project_id), SqlInt(hard), SqlInt(now)});
  if (!ins.ok()) return ins.status();
  std::string select =
      "SELECT id, hard_storage, used_storage FROM quota WHERE reference = 'project' AND "
      "reference_id = $1";
  if (dialect == SqlDialect::kPostgres) select += " FOR UPDATE";
  auto r = tx.Exec(select, {SqlInt(project_id)});
  if (!r.ok()) return r.status();
  if (r->rows.empty()) return Status::Internal("quota row vanished during insert");
  LockedQuota q{r->rows[0].Int(0), project_id, r->rows[0].Int(1), r->rows[0].Int(2)};
  auto counted = Recount(tx, q);
  if (!counted.ok()) return counted.status();
  return q;
}

Status DeleteProjectQuota(SqlTransaction& tx, int64_t project_id) {
  auto a = tx.Exec("DELETE FROM project_blob WHERE project_id = $1", {SqlInt(project_id)});
  if (!a.ok()) return a.status();
  return tx
      .Exec("DELETE FROM quota WHERE reference = 'project' AND reference_id = $1",
            {SqlInt(project_id)})
      .status();
}

Status QuotaExceeded(int64_t adding, int64_t used, int64_t hard) {
  return Status(Code::kPermissionDenied,
                "Quota exceeded when processing the request of adding " + FormatBytes(adding) +
                    " of storage resource, which when updated to current usage of " +
                    FormatBytes(used) + " will exceed the configured upper limit of " +
                    FormatBytes(hard),
                "DENIED",
                "{\"resource\":\"storage\",\"adding\":" + std::to_string(adding) +
                    ",\"used\":" + std::to_string(used) + ",\"hard\":" + std::to_string(hard) +
                    "}");
}

std::string FormatBytes(int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  size_t i = 0;
  while (std::fabs(v) >= 1024.0 && i + 1 < sizeof(kUnits) / sizeof(kUnits[0])) {
    v /= 1024.0;
    ++i;
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.4g %s", v, kUnits[i]);
  return buf;
}

}  // namespace accounting
}  // namespace berth
