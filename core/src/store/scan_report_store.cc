#include "store/scan_report_store.h"

#include <cmath>
#include <cstdlib>

#include "common/clock.h"
#include "common/strings.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kSelect[] =
    "r.id, r.uuid, r.digest, r.registration_uuid, r.mime_type, r.scan_type, r.project_id, "
    "r.repository, r.status, r.job_id, r.start_time, r.end_time, r.severity, r.total, r.fixable, "
    "r.summary, r.scanner, r.sbom_digest, r.error";

ScanReportRecord Read(const SqlRow& row, bool with_body) {
  ScanReportRecord x;
  x.id = row.Int(0);
  x.uuid = row.Text(1);
  x.digest = row.Text(2);
  x.registration_uuid = row.Text(3);
  x.mime_type = row.Text(4);
  x.scan_type = row.Text(5);
  x.project_id = row.Int(6);
  x.repository = row.Text(7);
  x.status = row.Text(8);
  x.job_id = row.Int(9);
  x.start_time = row.Int(10);
  x.end_time = row.Int(11);
  x.severity = static_cast<Severity>(row.Int(12));
  x.total = row.Int(13);
  x.fixable = row.Int(14);
  x.summary_json = row.Text(15);
  x.scanner_json = row.Text(16);
  x.sbom_digest = row.Text(17);
  x.error = row.Text(18);
  if (with_body) x.report = row.Text(19);
  return x;
}

}  // namespace

Status ScanReportStore::Begin(ScanReportRecord& r) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto old = tx.Exec(
        "SELECT id, status FROM scan_report WHERE digest = $1 AND registration_uuid = $2 AND "
        "mime_type = $3",
        {SqlText(r.digest), SqlText(r.registration_uuid), SqlText(r.mime_type)});
    if (!old.ok()) return old.status();
    if (!old->rows.empty()) {
      std::string st = old->rows[0].Text(1);
      if (st == kScanPending || st == kScanRunning) {
        return Status::Conflict("a previous " + r.scan_type + " scan of " + r.digest + " is " + st,
                                "CONFLICT");
      }
      int64_t id = old->rows[0].Int(0);
      auto f = tx.Exec("DELETE FROM vulnerability_finding WHERE report_id = $1", {SqlInt(id)});
      if (!f.ok()) return f.status();
      auto d = tx.Exec("DELETE FROM scan_report WHERE id = $1", {SqlInt(id)});
      if (!d.ok()) return d.status();
    }
    r.status = kScanPending;
    auto ins = tx.Exec(
        "INSERT INTO scan_report (uuid, digest, registration_uuid, mime_type, scan_type, "
        "project_id, repository, status, scanner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "RETURNING id",
        {SqlText(r.uuid), SqlText(r.digest), SqlText(r.registration_uuid), SqlText(r.mime_type),
         SqlText(r.scan_type), SqlInt(r.project_id), SqlText(r.repository), SqlText(r.status),
         SqlText(r.scanner_json)});
    if (!ins.ok()) return ins.status();
    r.id = ins->rows.at(0).Int(0);
    return {};
  });
}

Status ScanReportStore::SetJob(const std::string& uuid, int64_t job_id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("UPDATE scan_report SET job_id = $2 WHERE uuid = $1",
                   {SqlText(uuid), SqlInt(job_id)})
        .status();
  });
}

Status ScanReportStore::MarkRunning(const std::string& uuid, int64_t start_time) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("UPDATE scan_report SET status = $2, start_time = $3, end_time = 0, error = '' "
                   "WHERE uuid = $1",
                   {SqlText(uuid), SqlText(kScanRunning), SqlInt(start_time)})
        .status();
  });
}

Status ScanReportStore::Finish(const ScanReportRecord& r, const std::vector<StoredFinding>& findings) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // Per-severity counters for the security hub (Harbor's *_cnt columns).
    int64_t count[6] = {0, 0, 0, 0, 0, 0};
    for (const auto& f : findings) {
      int sev = static_cast<int>(f.finding.severity);
      if (sev >= 0 && sev < 6) ++count[sev];
    }
    auto u = tx.Exec(
        "UPDATE scan_report SET status = $2, start_time = $3, end_time = $4, severity = $5, "
        "total = $6, fixable = $7, summary = $8, scanner = $9, report = $10, sbom_digest = $11, "
        "error = $12, none_cnt = $13, unknown_cnt = $14, low_cnt = $15, medium_cnt = $16, "
        "high_cnt = $17, critical_cnt = $18, finding_details = 1 WHERE uuid = $1 RETURNING id",
        {SqlText(r.uuid), SqlText(r.status), SqlInt(r.start_time), SqlInt(r.end_time),
         SqlInt(static_cast<int64_t>(r.severity)), SqlInt(r.total), SqlInt(r.fixable),
         SqlText(r.summary_json), SqlText(r.scanner_json), SqlText(r.report),
         SqlText(r.sbom_digest), SqlText(r.error), SqlInt(count[0]), SqlInt(count[1]),
         SqlInt(count[2]), SqlInt(count[3]), SqlInt(count[4]), SqlInt(count[5])});
    if (!u.ok()) return u.status();
    if (u->rows.empty()) return Status::NotFound("scan report " + r.uuid + " is gone", "NOT_FOUND");
    int64_t id = u->rows[0].Int(0);
    auto d = tx.Exec("DELETE FROM vulnerability_finding WHERE report_id = $1", {SqlInt(id)});
    if (!d.ok()) return d.status();
    for (const auto& f : findings) {
      auto ins = tx.Exec(
          "INSERT INTO vulnerability_finding (report_id, project_id, repository, digest, cve_id, "
          "package, version, fixed_version, severity, cvss_v3_score, description, links, "
          "cvss_v2_score, cvss_v3_vector, cvss_v2_vector, cwe_ids, vendor_attributes) VALUES "
          "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
          {SqlInt(id), SqlInt(r.project_id), SqlText(r.repository), SqlText(r.digest),
           SqlText(f.finding.cve_id), SqlText(f.finding.package), SqlText(f.finding.version),
           SqlText(f.finding.fixed_version), SqlInt(static_cast<int64_t>(f.finding.severity)),
           SqlInt(f.cvss_v3_x10), SqlText(f.description), SqlText(f.links_json),
           SqlInt(f.cvss_v2_x10), SqlText(f.cvss_v3_vector), SqlText(f.cvss_v2_vector),
           SqlText(f.cwe_ids), SqlText(f.vendor_attributes_json)});
      if (!ins.ok()) return ins.status();
    }
    return {};
  });
}

StatusOr<std::optional<ScanReportRecord>> ScanReportStore::Get(const std::string& uuid) {
  std::optional<ScanReportRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(std::string("SELECT ") + kSelect + ", r.report FROM scan_report r WHERE r.uuid = $1",
                     {SqlText(uuid)});
    if (!r.ok()) return r.status();
    out.reset();
    if (!r->rows.empty()) out = Read(r->rows[0], true);
    return {};
  }));
  return out;
}

StatusOr<std::vector<ScanReportRecord>> ScanReportStore::OfDigests(
    const std::vector<std::string>& digests, const std::string& registration_uuid, bool with_body) {
  std::vector<ScanReportRecord> out;
  if (digests.empty()) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params{SqlText(registration_uuid)};
    for (const auto& d : digests) params.push_back(SqlText(d));
    auto r = tx.Exec(std::string("SELECT ") + kSelect + (with_body ? ", r.report" : "") +
                         " FROM scan_report r WHERE r.registration_uuid = $1 AND r.digest IN (" +
                         Placeholders(2, digests.size()) + ") ORDER BY r.id",
                     params);
    if (!r.ok()) return r.status();
    out.clear();
    for (const auto& row : r->rows) out.push_back(Read(row, with_body));
    return {};
  }));
  return out;
}

StatusOr<std::vector<ScanReportRecord>> ScanReportStore::Unfinished(
    const std::vector<std::string>& digests, const std::string& scan_type) {
  std::vector<ScanReportRecord> out;
  if (digests.empty()) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    std::vector<SqlValue> params{SqlText(scan_type), SqlText(kScanPending), SqlText(kScanRunning)};
    for (const auto& d : digests) params.push_back(SqlText(d));
    auto r = tx.Exec(std::string("SELECT ") + kSelect +
                         " FROM scan_report r WHERE r.scan_type = $1 AND r.status IN ($2, $3) "
                         "AND r.digest IN (" + Placeholders(4, digests.size()) + ") ORDER BY r.id",
                     params);
    if (!r.ok()) return r.status();
    out.clear();
    for (const auto& row : r->rows) out.push_back(Read(row, false));
    return {};
  }));
  return out;
}

Status ScanReportStore::EndWithJob(int64_t job_id, const std::string& status,
                                   const std::string& error) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("UPDATE scan_report SET status = $2, error = $3, end_time = $4 WHERE job_id = $1 "
                   "AND status IN ($5, $6)",
                   {SqlInt(job_id), SqlText(status), SqlText(error), SqlInt(NowUnixMillis()),
                    SqlText(kScanPending), SqlText(kScanRunning)})
        .status();
  });
}

namespace {

constexpr char kFindingSelect[] =
    "f.project_id, f.repository, f.digest, f.cve_id, f.package, f.version, f.fixed_version, "
    "f.severity, f.cvss_v3_score, f.description, f.links";

FindingRow ReadFinding(const SqlRow& r) {
  FindingRow x;
  x.project_id = r.Int(0);
  x.repository = r.Text(1);
  x.digest = r.Text(2);
  x.f.finding.cve_id = r.Text(3);
  x.f.finding.package = r.Text(4);
  x.f.finding.version = r.Text(5);
  x.f.finding.fixed_version = r.Text(6);
  x.f.finding.severity = static_cast<Severity>(r.Int(7));
  x.f.cvss_v3_x10 = r.Int(8);
  x.f.description = r.Text(9);
  x.f.links_json = r.Text(10);
  return x;
}

// Findings rows exist only for successful reports: Begin deletes a report's
// findings when it is scanned again, and Finish writes them with the
// Success status (none for Error or Stopped), so the hub reads the findings
// table alone, through its indexes.
constexpr char kSuccessfulVulnReports[] =
    "scan_report WHERE scan_type = 'vulnerability' AND status = 'Success'";

}  // namespace

StatusOr<SecuritySummaryData> ScanReportStore::SecuritySummary(bool with_cves, bool with_artifacts) {
  SecuritySummaryData out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out = SecuritySummaryData{};
    // Report rows, not findings: one row per scanned artifact.
    auto s = tx.Exec(std::string("SELECT COALESCE(SUM(critical_cnt), 0), COALESCE(SUM(high_cnt), 0), "
                                 "COALESCE(SUM(medium_cnt), 0), COALESCE(SUM(low_cnt), 0), "
                                 "COALESCE(SUM(none_cnt), 0), COALESCE(SUM(unknown_cnt), 0), "
                                 "COALESCE(SUM(fixable), 0), COUNT(DISTINCT digest) FROM ") +
                     kSuccessfulVulnReports);
    if (!s.ok()) return s.status();
    const auto& row = s->rows.at(0);
    const Severity order[] = {Severity::kCritical, Severity::kHigh, Severity::kMedium,
                              Severity::kLow, Severity::kNone, Severity::kUnknown};
    for (int i = 0; i < 6; ++i) {
      out.by_severity[order[i]] = row.Int(i);
      out.total += row.Int(i);
    }
    out.fixable = row.Int(6);
    out.scanned_artifacts = row.Int(7);
    auto a = tx.Exec("SELECT COUNT(*) FROM artifact WHERE accessory_type = ''");
    if (!a.ok()) return a.status();
    out.total_artifacts = a->rows[0].Int(0);
    if (with_cves) {
      // Down the (severity, cvss_v3_score) index.
      auto c = tx.Exec(SelectSql(kFindingSelect, "FROM vulnerability_finding f WHERE f.severity = $1 "
                                                 "ORDER BY f.cvss_v3_score DESC, f.id LIMIT 5"),
                       {SqlInt(static_cast<int64_t>(Severity::kCritical))});
      if (!c.ok()) return c.status();
      for (const auto& r : c->rows) out.dangerous_cves.push_back(ReadFinding(r));
    }
    if (with_artifacts) {
      auto d = tx.Exec(std::string("SELECT project_id, repository, digest, SUM(critical_cnt) AS c, "
                                   "SUM(high_cnt) AS h, SUM(medium_cnt) AS m FROM ") +
                       kSuccessfulVulnReports +
                       " AND critical_cnt + high_cnt + medium_cnt + low_cnt > 0 "
                       "GROUP BY project_id, repository, digest "
                       "ORDER BY c DESC, h DESC, m DESC, SUM(low_cnt) DESC, digest LIMIT 5");
      if (!d.ok()) return d.status();
      for (const auto& r : d->rows) {
        out.dangerous_artifacts.push_back(
            {r.Int(0), r.Text(1), r.Text(2), r.Int(3), r.Int(4), r.Int(5)});
      }
    }
    return {};
  }));
  return out;
}

StatusOr<Page<FindingRow>> ScanReportStore::ListFindings(const ListQuery& query, bool tune_count) {
  static const std::map<std::string, QueryColumn> kColumns = {
      {"cve_id", {"f.cve_id"}},
      {"package", {"f.package"}},
      {"severity", {"f.severity", true}},
      {"project_id", {"f.project_id", true}},
      {"repository_name", {"f.repository"}},
      {"digest", {"f.digest"}},
      {"cvss_score_v3", {"f.cvss_v3_score", true}},
  };
  // Severities by name and CVSS scores as the stored integers (score x 10);
  // tag terms become a condition on the tagged artifacts.
  ListQuery q = query;
  ListQuery tags;
  q.terms.clear();
  for (auto t : query.terms) {
    if (t.key == "tag") {
      tags.terms.push_back(std::move(t));
      continue;
    }
    for (auto& v : t.values) {
      if (v.empty()) continue;
      if (t.key == "severity") {
        auto sev = ParseSeverity(v);
        if (!sev) return Status::InvalidArgument("unknown severity '" + v + "'", "BAD_REQUEST");
        v = std::to_string(static_cast<int>(*sev));
      } else if (t.key == "cvss_score_v3") {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || d < 0 || d > 10) {
          return Status::InvalidArgument("cvss_score_v3 '" + v + "' is not a score from 0 to 10",
                                         "BAD_REQUEST");
        }
        v = std::to_string(static_cast<int64_t>(std::lround(d * 10)));
      }
    }
    q.terms.push_back(std::move(t));
  }
  std::string where = "1 = 1";
  std::vector<SqlValue> params;
  if (!tags.terms.empty()) {
    // The (repository, digest) pairs of the artifacts so tagged: a short
    // list, each looked up in the (digest, repository) index.
    BERTH_ASSIGN_OR_RETURN(SqlFilter tf, BuildSqlFilter(tags, {{"tag", {"t.name"}}}, "", 1));
    where = "(f.repository, f.digest) IN (SELECT rp.name, a.digest FROM tag t JOIN artifact a ON "
            "a.id = t.artifact_id JOIN repository rp ON rp.id = a.repository_id WHERE 1 = 1" +
            tf.where + ")";
    params = tf.params;
  }
  BERTH_ASSIGN_OR_RETURN(
      SqlFilter f, BuildSqlFilter(q, kColumns, "f.cvss_v3_score DESC, f.severity DESC, f.id DESC",
                                  static_cast<int>(params.size()) + 1));
  params.insert(params.end(), f.params.begin(), f.params.end());
  const std::string from = " FROM vulnerability_finding f WHERE " + where + f.where;
  Page<FindingRow> page;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    page = Page<FindingRow>{};
    bool past_limit = false;
    if (tune_count) {
      // Harbor's tune_count: -1 instead of counting past 1000.
      auto e = tx.Exec("SELECT 1" + from + " LIMIT 1 OFFSET 1000", params);
      if (!e.ok()) return e.status();
      past_limit = !e->rows.empty();
    }
    if (past_limit) {
      page.total = -1;
    } else {
      auto c = tx.Exec("SELECT COUNT(*)" + from, params);
      if (!c.ok()) return c.status();
      page.total = c->rows.at(0).Int(0);
    }
    auto paged = params;
    size_t n = paged.size();
    paged.push_back(SqlInt(q.page_size));
    paged.push_back(SqlInt(q.offset()));
    auto r = tx.Exec(std::string("SELECT ") + kFindingSelect + from + f.order_by + " LIMIT $" +
                         std::to_string(n + 1) + " OFFSET $" + std::to_string(n + 2),
                     paged);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) page.items.push_back(ReadFinding(row));
    return {};
  }));
  return page;
}

StatusOr<std::map<std::pair<std::string, std::string>, std::vector<std::string>>>
ScanReportStore::TagsOf(const std::vector<std::pair<std::string, std::string>>& artifacts) {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> out;
  if (artifacts.empty()) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    std::vector<SqlValue> params;
    std::string pairs;
    for (const auto& [repo, digest] : artifacts) {
      pairs += std::string(pairs.empty() ? "" : " OR ") + "(rp.name = $" +
               std::to_string(params.size() + 1) + " AND a.digest = $" +
               std::to_string(params.size() + 2) + ")";
      params.push_back(SqlText(repo));
      params.push_back(SqlText(digest));
    }
    auto r = tx.Exec("SELECT rp.name, a.digest, t.name FROM tag t JOIN artifact a ON a.id = "
                     "t.artifact_id JOIN repository rp ON rp.id = a.repository_id WHERE " + pairs +
                         " ORDER BY t.name",
                     params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out[{row.Text(0), row.Text(1)}].push_back(row.Text(2));
    return {};
  }));
  return out;
}

StatusOr<int64_t> ScanReportStore::PruneOrphans() {
  int64_t n = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // Unfinished reports are left to their job, which fails them.
    constexpr char kOrphans[] =
        "SELECT r.id FROM scan_report r WHERE r.status NOT IN ('Pending', 'Running') AND "
        "NOT EXISTS (SELECT 1 FROM artifact a WHERE a.digest = r.digest)";
    auto f = tx.Exec(std::string("DELETE FROM vulnerability_finding WHERE report_id IN (") +
                     kOrphans + ")");
    if (!f.ok()) return f.status();
    auto d = tx.Exec(std::string("DELETE FROM scan_report WHERE id IN (") + kOrphans + ")");
    if (!d.ok()) return d.status();
    n = d->affected;
    return {};
  }));
  return n;
}

StatusOr<int64_t> ScanReportStore::PruneScanJobs(const std::string& kind, int64_t keep_vendor_id) {
  int64_t n = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    constexpr char kUnreferenced[] =
        "SELECT j.id FROM job j WHERE j.vendor_type = $1 AND j.vendor_id <> $2 AND "
        "j.status IN ('Success', 'Error', 'Stopped') AND "
        "NOT EXISTS (SELECT 1 FROM scan_report r WHERE r.job_id = j.id)";
    const std::vector<SqlValue> params{SqlText(kind), SqlInt(keep_vendor_id)};
    auto l = tx.Exec(std::string("DELETE FROM job_log WHERE job_id IN (") + kUnreferenced + ")",
                     params);
    if (!l.ok()) return l.status();
    auto d = tx.Exec(std::string("DELETE FROM job WHERE id IN (") + kUnreferenced + ")", params);
    if (!d.ok()) return d.status();
    n = d->affected;
    return {};
  }));
  return n;
}

StatusOr<ScanResult> ScanReportStore::LatestVulnerabilityResult(const std::string& repository,
                                                                const std::string& digest) {
  (void)repository;  // reports belong to the digest, wherever it is stored (Harbor)
  ScanResult out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out = ScanResult{};
    auto r = tx.Exec(
        "SELECT id FROM scan_report WHERE digest = $1 AND scan_type = 'vulnerability' AND "
        "status = $2 ORDER BY end_time DESC, id DESC LIMIT 1",
        {SqlText(digest), SqlText(kScanSuccess)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) return {};
    out.scanned = true;
    auto f = tx.Exec(
        "SELECT cve_id, package, version, fixed_version, severity FROM vulnerability_finding "
        "WHERE report_id = $1 ORDER BY id",
        {SqlInt(r->rows[0].Int(0))});
    if (!f.ok()) return f.status();
    for (const auto& row : f->rows) {
      VulnerabilityFinding v;
      v.cve_id = row.Text(0);
      v.package = row.Text(1);
      v.version = row.Text(2);
      v.fixed_version = row.Text(3);
      v.severity = static_cast<Severity>(row.Int(4));
      out.findings.push_back(std::move(v));
    }
    return {};
  }));
  return out;
}

}  // namespace berth
