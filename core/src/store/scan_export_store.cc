#include "store/scan_export_store.h"

#include <map>

#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kColumns[] =
    "e.id, e.user_id, e.user_name, e.job_name, e.project_id, e.request, e.status, e.status_text, "
    "e.job_id, e.start_time, e.end_time, e.file_path, e.file_digest, e.file_size, e.file_present, "
    "j.status, j.error";

ScanExportRecord ReadExport(const SqlRow& row) {
  ScanExportRecord x;
  x.id = row.Int(0);
  x.user_id = row.Int(1);
  x.user_name = row.Text(2);
  x.job_name = row.Text(3);
  x.project_id = row.Int(4);
  x.request_json = row.Text(5);
  x.status = row.Text(6);
  x.status_text = row.Text(7);
  x.job_id = row.Int(8);
  x.start_time = row.Int(9);
  x.end_time = row.Int(10);
  x.file_path = row.Text(11);
  x.file_digest = row.Text(12);
  x.file_size = row.Int(13);
  x.file_present = row.Int(14) != 0;
  x.job_status = row.Text(15);
  x.job_error = row.Text(16);
  return x;
}

}  // namespace

Status ScanExportStore::Create(ScanExportRecord& r) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto ins = tx.Exec(
        "INSERT INTO scan_data_export (user_id, user_name, job_name, project_id, request, status, "
        "status_text, start_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        {SqlInt(r.user_id), SqlText(r.user_name), SqlText(r.job_name), SqlInt(r.project_id),
         SqlText(r.request_json), SqlText(r.status), SqlText(r.status_text), SqlInt(r.start_time)});
    if (!ins.ok()) return ins.status();
    r.id = ins->rows.at(0).Int(0);
    return {};
  });
}

Status ScanExportStore::SetJob(int64_t id, int64_t job_id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("UPDATE scan_data_export SET job_id = $2 WHERE id = $1", {SqlInt(id), SqlInt(job_id)})
        .status();
  });
}

Status ScanExportStore::Finish(const ScanExportRecord& r) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto u = tx.Exec(
        "UPDATE scan_data_export SET status = $2, status_text = $3, end_time = $4, file_path = $5, "
        "file_digest = $6, file_size = $7, file_present = $8 WHERE id = $1",
        {SqlInt(r.id), SqlText(r.status), SqlText(r.status_text), SqlInt(r.end_time),
         SqlText(r.file_path), SqlText(r.file_digest), SqlInt(r.file_size),
         SqlInt(r.file_present ? 1 : 0)});
    if (!u.ok()) return u.status();
    if (u->affected == 0) {
      return Status::NotFound("scan data export " + std::to_string(r.id) + " is gone", "NOT_FOUND");
    }
    return {};
  });
}

StatusOr<std::vector<ScanExportRecord>> ScanExportStore::Select(const std::string& where,
                                                                const std::vector<SqlValue>& params) {
  std::vector<ScanExportRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(SelectSql(kColumns, "FROM scan_data_export e LEFT JOIN job j ON j.id = e.job_id "
                                         "WHERE " + where + " ORDER BY e.id DESC"),
                     params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadExport(row));
    return {};
  }));
  return out;
}

StatusOr<std::optional<ScanExportRecord>> ScanExportStore::Get(int64_t id) {
  BERTH_ASSIGN_OR_RETURN(auto rows, Select("e.id = $1", {SqlInt(id)}));
  if (rows.empty()) return std::optional<ScanExportRecord>();
  return std::optional<ScanExportRecord>(std::move(rows[0]));
}

StatusOr<std::vector<ScanExportRecord>> ScanExportStore::OfUser(const std::string& user_name) {
  return Select("e.user_name = $1", {SqlText(user_name)});
}

StatusOr<std::vector<ScanExportRecord>> ScanExportStore::OfProject(int64_t project_id) {
  return Select("e.project_id = $1", {SqlInt(project_id)});
}

StatusOr<std::vector<ScanExportRecord>> ScanExportStore::FinishedBefore(int64_t before_ms) {
  // A Running execution whose job is over counts as finished.
  return Select("e.start_time < $1 AND (e.status <> $2 OR j.id IS NULL OR j.status IN ($3, $4, $5))",
                {SqlInt(before_ms), SqlText(kExportRunning), SqlText(kExportSuccess),
                 SqlText(kExportError), SqlText(kExportStopped)});
}

StatusOr<bool> ScanExportStore::Delete(int64_t id) {
  bool deleted = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto d = tx.Exec("DELETE FROM scan_data_export WHERE id = $1", {SqlInt(id)});
    if (!d.ok()) return d.status();
    deleted = d->affected > 0;
    return {};
  }));
  return deleted;
}

StatusOr<std::vector<ExportRepository>> ScanExportStore::RepositoriesOf(int64_t project_id) {
  std::vector<ExportRepository> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec("SELECT id, name FROM repository WHERE project_id = $1 ORDER BY name",
                     {SqlInt(project_id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back({row.Int(0), row.Text(1)});
    return {};
  }));
  return out;
}

StatusOr<std::vector<ExportArtifact>> ScanExportStore::ArtifactsPage(int64_t repository_id,
                                                                    const ExportArtifact& after,
                                                                    int64_t limit) {
  std::vector<ExportArtifact> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    // Down the listing index (repository_id, top_level, push_time, id), one
    // page after the last one's (push_time, id): no page rescans the repository.
    auto a = tx.Exec(
        "SELECT id, digest, push_time FROM artifact WHERE repository_id = $1 AND top_level = 1 AND "
        "(push_time > $2 OR (push_time = $2 AND id > $3)) ORDER BY push_time, id LIMIT $4",
        {SqlInt(repository_id), SqlInt(after.push_time), SqlInt(after.id), SqlInt(limit)});
    if (!a.ok()) return a.status();
    if (a->rows.empty()) return {};
    std::map<int64_t, size_t> index;
    std::vector<SqlValue> ids;
    for (const auto& row : a->rows) {
      index[row.Int(0)] = out.size();
      out.push_back({row.Int(0), row.Text(1), row.Int(2), {}, {}, {}});
      ids.push_back(SqlInt(row.Int(0)));
    }
    const std::string in = "(" + Placeholders(1, ids.size()) + ")";
    auto t = tx.Exec("SELECT artifact_id, name FROM tag WHERE artifact_id IN " + in + " ORDER BY name", ids);
    if (!t.ok()) return t.status();
    for (const auto& row : t->rows) out[index[row.Int(0)]].tags.push_back(row.Text(1));
    auto l = tx.Exec("SELECT artifact_id, label_id FROM artifact_label WHERE artifact_id IN " + in, ids);
    if (!l.ok()) return l.status();
    for (const auto& row : l->rows) out[index[row.Int(0)]].label_ids.push_back(row.Int(1));
    auto c = tx.Exec("SELECT parent_id, child_digest FROM artifact_reference WHERE parent_id IN " + in +
                         " ORDER BY child_digest",
                     ids);
    if (!c.ok()) return c.status();
    for (const auto& row : c->rows) out[index[row.Int(0)]].child_digests.push_back(row.Text(1));
    return {};
  }));
  return out;
}

StatusOr<std::optional<ExportReport>> ScanExportStore::LatestReport(const std::string& digest) {
  return QueryOptionalRow(
      db_,
      "SELECT r.id, s.name, r.finding_details, CASE WHEN r.finding_details = 0 THEN r.report "
      "ELSE '' END FROM scan_report r JOIN scanner_registration s ON s.uuid = r.registration_uuid "
      "WHERE r.digest = $1 AND r.scan_type = 'vulnerability' AND r.status = $2 "
      "ORDER BY r.end_time DESC, r.id DESC LIMIT 1",
      {SqlText(digest), SqlText(kScanSuccess)}, [](const SqlRow& row) {
        return ExportReport{row.Int(0), row.Text(1), row.Int(2) != 0, row.Text(3)};
      });
}

StatusOr<std::vector<ExportFinding>> ScanExportStore::FindingsPage(int64_t report_id, int64_t after_id,
                                                                  int64_t limit) {
  std::vector<ExportFinding> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(
        "SELECT id, cve_id, package, version, fixed_version, severity, cvss_v3_score, description, "
        "links, cvss_v2_score, cvss_v3_vector, cvss_v2_vector, cwe_ids, vendor_attributes "
        "FROM vulnerability_finding "
        "WHERE report_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        {SqlInt(report_id), SqlInt(after_id), SqlInt(limit)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      ExportFinding x;
      x.id = row.Int(0);
      x.f.finding.cve_id = row.Text(1);
      x.f.finding.package = row.Text(2);
      x.f.finding.version = row.Text(3);
      x.f.finding.fixed_version = row.Text(4);
      x.f.finding.severity = static_cast<Severity>(row.Int(5));
      x.f.cvss_v3_x10 = row.Int(6);
      x.f.description = row.Text(7);
      x.f.links_json = row.Text(8);
      x.f.cvss_v2_x10 = row.Int(9);
      x.f.cvss_v3_vector = row.Text(10);
      x.f.cvss_v2_vector = row.Text(11);
      x.f.cwe_ids = row.Text(12);
      x.f.vendor_attributes_json = row.Text(13);
      out.push_back(std::move(x));
    }
    return {};
  }));
  return out;
}

}  // namespace berth
