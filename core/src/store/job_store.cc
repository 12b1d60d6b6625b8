#include "store/job_store.h"

#include <algorithm>
#include <functional>

#include "common/clock.h"
#include "store/row_query.h"

namespace berth {

namespace {

constexpr char kJobColumns[] =
    "id, kind, params, status, trigger_kind, attempts, max_attempts, lost, run_at, "
    "enqueue_time, update_time, start_time, end_time, worker, lease_token, lease_expires_at, "
    "check_in, error, vendor_type, vendor_id, stop_requested";

JobRecord ReadJob(const SqlRow& r) {
  JobRecord j;
  j.id = r.Int(0);
  j.kind = r.Text(1);
  j.params_json = r.Text(2);
  j.status = r.Text(3);
  j.trigger = r.Text(4);
  j.attempts = static_cast<int>(r.Int(5));
  j.max_attempts = static_cast<int>(r.Int(6));
  j.lost = static_cast<int>(r.Int(7));
  j.run_at = r.Int(8);
  j.enqueue_time = r.Int(9);
  j.update_time = r.Int(10);
  j.start_time = r.Int(11);
  j.end_time = r.Int(12);
  j.worker = r.Text(13);
  j.lease_token = r.Text(14);
  j.lease_expires_at = r.Int(15);
  j.check_in = r.Text(16);
  j.error = r.Text(17);
  j.vendor_type = r.Text(18);
  j.vendor_id = r.Int(19);
  j.stop_requested = r.Int(20) != 0;
  return j;
}

constexpr char kScheduleColumns[] =
    "id, vendor_type, vendor_id, cron, kind, params, next_run, creation_time, update_time";

ScheduleRecord ReadSchedule(const SqlRow& r) {
  ScheduleRecord s;
  s.id = r.Int(0);
  s.vendor_type = r.Text(1);
  s.vendor_id = r.Int(2);
  s.cron = r.Text(3);
  s.kind = r.Text(4);
  s.params_json = r.Text(5);
  s.next_run = r.Int(6);
  s.creation_time = r.Int(7);
  s.update_time = r.Int(8);
  return s;
}

StatusOr<int64_t> InsertJob(SqlTransaction& tx, const NewJob& j) {
  int64_t now = NowUnixMillis();
  int64_t run_at = j.run_at > 0 ? j.run_at : now;
  if (j.unique) {
    auto have = tx.Exec(
        "SELECT id FROM job WHERE kind = $1 AND vendor_type = $2 AND vendor_id = $3 AND "
        "status IN ('Pending', 'Scheduled', 'Running') LIMIT 1",
        {SqlText(j.kind), SqlText(j.vendor_type), SqlInt(j.vendor_id)});
    if (!have.ok()) return have.status();
    if (!have->rows.empty()) {
      return Status::Conflict("a " + j.kind + " job is already pending or running (id " +
                                  have->rows[0].Text(0) + ")",
                              "CONFLICT");
    }
  }
  auto r = tx.Exec(
      "INSERT INTO job (kind, params, status, trigger_kind, attempts, max_attempts, lost, run_at, "
      "enqueue_time, update_time, vendor_type, vendor_id) "
      "VALUES ($1, $2, $3, $4, 0, $5, 0, $6, $7, $7, $8, $9) RETURNING id",
      {SqlText(j.kind), SqlText(j.params_json), SqlText(run_at > now ? kJobScheduled : kJobPending),
       SqlText(j.trigger), SqlInt(j.max_attempts < 1 ? 1 : j.max_attempts), SqlInt(run_at),
       SqlInt(now), SqlText(j.vendor_type), SqlInt(j.vendor_id)});
  if (!r.ok()) return r.status();
  return r->rows.at(0).Int(0);
}


}  // namespace

bool JobRecord::finished() const {
  return status == kJobSuccess || status == kJobError || status == kJobStopped;
}

StatusOr<int64_t> JobStore::Enqueue(const NewJob& job) {
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(id, InsertJob(tx, job));
    return {};
  }));
  return id;
}

StatusOr<std::optional<JobRecord>> JobStore::Claim(const JobClaim& c) {
  if (c.kinds.empty()) return std::optional<JobRecord>();
  const bool pg = db_.dialect() == SqlDialect::kPostgres;
  std::optional<JobRecord> out;
  // Idle workers poll: look before taking the write lock (SQLite has one).
  bool any = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "SELECT 1 FROM job WHERE (status IN ('Pending', 'Scheduled') AND run_at <= $1) OR "
        "(status = 'Running' AND lease_expires_at < $1) LIMIT 1",
        {SqlInt(c.now)});
    if (!r.ok()) return r.status();
    any = !r->rows.empty();
    return {};
  }));
  if (!any) return out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    out.reset();
    // Kinds at their cap are left out; on PostgreSQL an advisory lock per
    // capped kind makes "count, then take" atomic across nodes.
    std::vector<std::string> kinds;
    for (const auto& k : c.kinds) {
      auto cap = c.max_running.find(k);
      if (cap == c.max_running.end() || cap->second <= 0) {
        kinds.push_back(k);
        continue;
      }
      if (pg) {
        auto l = tx.Exec("SELECT pg_advisory_xact_lock(7324100, hashtext($1))", {SqlText(k)});
        if (!l.ok()) return l.status();
      }
      auto n = tx.Exec(
          "SELECT COUNT(*) FROM job WHERE kind = $1 AND status = 'Running' AND "
          "lease_expires_at >= $2",
          {SqlText(k), SqlInt(c.now)});
      if (!n.ok()) return n.status();
      if (n->rows.at(0).Int(0) < cap->second) kinds.push_back(k);
    }
    if (kinds.empty()) return {};
    std::vector<SqlValue> params = {SqlInt(c.now)};
    for (const auto& k : kinds) params.push_back(SqlText(k));
    std::string sql = SelectSql(kJobColumns, "FROM job WHERE kind IN (") +
                      Placeholders(2, kinds.size()) +
                      ") AND "
                      "((status IN ('Pending', 'Scheduled') AND run_at <= $1) OR "
                      " (status = 'Running' AND lease_expires_at < $1)) AND "
                      "kind NOT IN (SELECT kind FROM job_queue WHERE paused = 1) "
                      "ORDER BY run_at, id LIMIT 1";
    if (pg) sql += " FOR UPDATE SKIP LOCKED";
    auto r = tx.Exec(sql, params);
    if (!r.ok()) return r.status();
    if (r->rows.empty()) return {};
    JobRecord j = ReadJob(r->rows[0]);
    const bool was_lost = j.status == kJobRunning;
    if (was_lost && j.lost + 1 >= c.max_lost) {
      // Its workers keep vanishing (a crash it causes?): give up on it.
      auto u = tx.Exec(
          "UPDATE job SET status = 'Error', lost = lost + 1, error = $2, end_time = $3, "
          "update_time = $3, lease_token = '' WHERE id = $1",
          {SqlInt(j.id),
           SqlText("its worker stopped answering " + std::to_string(j.lost + 1) +
                   " times (lease expired); not retried"),
           SqlInt(c.now)});
      return u.status();
    }
    auto u = tx.Exec(
        "UPDATE job SET status = 'Running', attempts = attempts + 1, lost = lost + $2, "
        "worker = $3, lease_token = $4, lease_expires_at = $5, start_time = $6, update_time = $6, "
        "check_in = '' WHERE id = $1",
        {SqlInt(j.id), SqlInt(was_lost ? 1 : 0), SqlText(c.worker), SqlText(c.token),
         SqlInt(c.now + c.lease_ms), SqlInt(c.now)});
    if (!u.ok()) return u.status();
    j.status = kJobRunning;
    j.attempts++;
    if (was_lost) j.lost++;
    j.worker = c.worker;
    j.lease_token = c.token;
    j.lease_expires_at = c.now + c.lease_ms;
    j.start_time = j.update_time = c.now;
    out = std::move(j);
    return {};
  }));
  return out;
}

StatusOr<LeaseState> JobStore::Heartbeat(int64_t id, std::string_view token, int64_t lease_until,
                                         std::string_view check_in) {
  LeaseState st;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto u = tx.Exec(
        "UPDATE job SET lease_expires_at = $3, check_in = $4, update_time = $5 "
        "WHERE id = $1 AND lease_token = $2 AND status = 'Running'",
        {SqlInt(id), SqlText(token), SqlInt(lease_until), SqlText(check_in),
         SqlInt(NowUnixMillis())});
    if (!u.ok()) return u.status();
    st.owned = u->affected == 1;
    if (!st.owned) return {};
    auto r = tx.Exec("SELECT stop_requested FROM job WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    st.stop_requested = !r->rows.empty() && r->rows[0].Int(0) != 0;
    return {};
  }));
  return st;
}

StatusOr<bool> JobStore::Finish(int64_t id, std::string_view token, const JobOutcome& o) {
  bool owned = false;
  int64_t now = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    bool retry = o.status == kJobPending;
    // (Two statements rather than CASE WHEN $n > 0: PostgreSQL would type
    // that parameter as a 32-bit integer.)
    auto u = retry
        ? tx.Exec("UPDATE job SET status = $3, error = $4, run_at = $5, update_time = $6, "
                  "lease_token = '', lease_expires_at = 0 "
                  "WHERE id = $1 AND lease_token = $2 AND status = 'Running'",
                  {SqlInt(id), SqlText(token), SqlText(o.retry_at > now ? kJobScheduled : kJobPending),
                   SqlText(o.error), SqlInt(o.retry_at), SqlInt(now)})
        : tx.Exec("UPDATE job SET status = $3, error = $4, end_time = $5, update_time = $5, "
                  "lease_token = '', lease_expires_at = 0 "
                  "WHERE id = $1 AND lease_token = $2 AND status = 'Running'",
                  {SqlInt(id), SqlText(token), SqlText(o.status), SqlText(o.error), SqlInt(now)});
    if (!u.ok()) return u.status();
    owned = u->affected == 1;
    return {};
  }));
  return owned;
}

Status JobStore::AppendLog(int64_t id, const std::vector<std::pair<int64_t, std::string>>& lines) {
  if (lines.empty()) return {};
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    for (const auto& [ts, line] : lines) {
      auto r = tx.Exec("INSERT INTO job_log (job_id, ts, line) VALUES ($1, $2, $3)",
                       {SqlInt(id), SqlInt(ts), SqlText(line)});
      if (!r.ok()) return r.status();
    }
    return {};
  });
}

StatusOr<std::string> JobStore::ReadLog(int64_t id) {
  std::string out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec("SELECT ts, line FROM job_log WHERE job_id = $1 ORDER BY id", {SqlInt(id)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      out += FormatRfc3339Millis(row.Int(0));
      out += " ";
      out += row.Text(1);
      out += "\n";
    }
    return {};
  }));
  return out;
}

StatusOr<std::optional<JobRecord>> JobStore::Get(int64_t id) {
  return QueryOptionalRow(db_, SelectSql(kJobColumns, "FROM job WHERE id = $1"), {SqlInt(id)},
                          ReadJob);
}

StatusOr<JobPage> JobStore::List(std::string_view vendor_type, int64_t page, int64_t page_size,
                                 int64_t vendor_id) {
  std::string where = " WHERE vendor_type = $1";
  std::vector<SqlValue> params = {SqlText(vendor_type)};
  if (vendor_id >= 0) {
    where += " AND vendor_id = $2";
    params.push_back(SqlInt(vendor_id));
  }
  return PageOfJobs(where, params, page, page_size);
}

StatusOr<std::map<std::string, int64_t>> JobStore::StatusCounts(std::string_view vendor_type,
                                                                int64_t vendor_id) {
  std::map<std::string, int64_t> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT status, COUNT(*) FROM job WHERE vendor_type = $1 AND vendor_id = $2 "
                     "GROUP BY status",
                     {SqlText(vendor_type), SqlInt(vendor_id)});
    if (!r.ok()) return r.status();
    out.clear();
    for (const auto& row : r->rows) out[row.Text(0)] = row.Int(1);
    return {};
  }));
  return out;
}

StatusOr<JobPage> JobStore::ListByVendor(const std::vector<std::string>& vendor_types,
                                         int64_t vendor_id, int64_t page, int64_t page_size,
                                         const std::vector<std::string>& statuses) {
  std::vector<SqlValue> params = {SqlInt(vendor_id)};
  auto in = [&params](const std::vector<std::string>& values) {
    return BindList(std::vector<SqlValue>(values.begin(), values.end()), &params);
  };
  if (vendor_types.empty()) return JobPage{};
  std::string where = " WHERE vendor_id = $1 AND vendor_type IN (" + in(vendor_types) + ")";
  if (!statuses.empty()) where += " AND status IN (" + in(statuses) + ")";
  return PageOfJobs(where, params, page, page_size);
}

StatusOr<JobPage> JobStore::PageOfJobs(const std::string& where,
                                       const std::vector<SqlValue>& params, int64_t page,
                                       int64_t page_size) {
  JobPage out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out = {};
    auto n = tx.Exec("SELECT COUNT(*) FROM job" + where, params);
    if (!n.ok()) return n.status();
    out.total = n->rows.at(0).Int(0);
    std::vector<SqlValue> paged = params;
    paged.push_back(SqlInt(page_size));
    paged.push_back(SqlInt((page - 1) * page_size));
    auto r = tx.Exec(SelectSql(kJobColumns, "FROM job") + where + " ORDER BY id DESC LIMIT $" +
                         std::to_string(params.size() + 1) + " OFFSET $" +
                         std::to_string(params.size() + 2),
                     paged);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.items.push_back(ReadJob(row));
    return {};
  }));
  return out;
}

StatusOr<std::vector<JobRecord>> JobStore::Running() {
  std::vector<JobRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(SelectSql(kJobColumns, "FROM job WHERE status = 'Running' ORDER BY id"));
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadJob(row));
    return {};
  }));
  return out;
}

StatusOr<bool> JobStore::RequestStop(int64_t id) {
  bool changed = false;
  int64_t now = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT status FROM job WHERE id = $1", {SqlInt(id)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) return Status::NotFound("job " + std::to_string(id) + " not found", "NOT_FOUND");
    std::string status = r->rows[0].Text(0);
    if (status == kJobRunning) {
      auto u = tx.Exec("UPDATE job SET stop_requested = 1, update_time = $2 WHERE id = $1",
                       {SqlInt(id), SqlInt(now)});
      if (!u.ok()) return u.status();
      changed = true;
    } else if (status == kJobPending || status == kJobScheduled) {
      auto u = tx.Exec(
          "UPDATE job SET status = 'Stopped', stop_requested = 1, end_time = $2, update_time = $2 "
          "WHERE id = $1",
          {SqlInt(id), SqlInt(now)});
      if (!u.ok()) return u.status();
      changed = true;
    }
    return {};
  }));
  return changed;
}

Status JobStore::StopQueue(std::string_view kind) {
  int64_t now = NowUnixMillis();
  bool all = kind == "all";
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    std::string where = all ? "" : " AND kind = $2";
    std::vector<SqlValue> p = {SqlInt(now)};
    if (!all) p.push_back(SqlText(kind));
    auto a = tx.Exec(
        "UPDATE job SET status = 'Stopped', stop_requested = 1, end_time = $1, update_time = $1 "
        "WHERE status IN ('Pending', 'Scheduled')" + where, p);
    if (!a.ok()) return a.status();
    auto b = tx.Exec("UPDATE job SET stop_requested = 1, update_time = $1 WHERE status = 'Running'" +
                         where, p);
    return b.status();
  });
}

Status JobStore::SetPaused(std::string_view kind, bool paused) {
  int64_t now = NowUnixMillis();
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO job_queue (kind, paused, update_time) VALUES ($1, $2, $3) "
        "ON CONFLICT (kind) DO UPDATE SET paused = $2, update_time = $3",
        {SqlText(kind), SqlInt(paused ? 1 : 0), SqlInt(now)});
    return r.status();
  });
}

StatusOr<bool> JobStore::IsPaused(std::string_view kind) {
  bool paused = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT paused FROM job_queue WHERE kind = $1", {SqlText(kind)});
    if (!r.ok()) return r.status();
    paused = !r->rows.empty() && r->rows[0].Int(0) != 0;
    return {};
  }));
  return paused;
}

StatusOr<std::vector<JobQueueInfo>> JobStore::Queues(const std::vector<std::string>& kinds,
                                                     int64_t now) {
  std::map<std::string, JobQueueInfo> by_kind;
  for (const auto& k : kinds) by_kind[k].kind = k;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "SELECT kind, COUNT(*), MIN(CASE WHEN run_at <= $1 THEN run_at ELSE NULL END) FROM job "
        "WHERE status IN ('Pending', 'Scheduled') GROUP BY kind",
        {SqlInt(now)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      JobQueueInfo& q = by_kind[row.Text(0)];
      q.kind = row.Text(0);
      q.count = row.Int(1);
      q.latency_s = row.IsNull(2) ? 0 : std::max<int64_t>(0, (now - row.Int(2)) / 1000);
    }
    auto p = tx.Exec("SELECT kind, paused FROM job_queue");
    if (!p.ok()) return p.status();
    for (const auto& row : p->rows) {
      auto it = by_kind.find(row.Text(0));
      if (it != by_kind.end()) it->second.paused = row.Int(1) != 0;
    }
    return {};
  }));
  std::vector<JobQueueInfo> out;
  for (auto& [_, q] : by_kind) out.push_back(q);
  return out;
}

StatusOr<int64_t> JobStore::PruneFinished(std::string_view vendor_type, int64_t keep) {
  int64_t n = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto cut = tx.Exec(
        "SELECT id FROM job WHERE vendor_type = $1 AND status IN ('Success', 'Error', 'Stopped') "
        "ORDER BY id DESC LIMIT 1 OFFSET $2",
        {SqlText(vendor_type), SqlInt(keep)});
    if (!cut.ok()) return cut.status();
    if (cut->rows.empty()) return {};
    int64_t below = cut->rows[0].Int(0);
    auto l = tx.Exec(
        "DELETE FROM job_log WHERE job_id IN (SELECT id FROM job WHERE vendor_type = $1 AND "
        "id <= $2 AND status IN ('Success', 'Error', 'Stopped'))",
        {SqlText(vendor_type), SqlInt(below)});
    if (!l.ok()) return l.status();
    auto d = tx.Exec(
        "DELETE FROM job WHERE vendor_type = $1 AND id <= $2 AND "
        "status IN ('Success', 'Error', 'Stopped')",
        {SqlText(vendor_type), SqlInt(below)});
    if (!d.ok()) return d.status();
    n = d->affected;
    return {};
  }));
  return n;
}

Status JobStore::UpsertPool(const WorkerPoolRecord& p) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO job_pool (pool_id, pid, host, concurrency, start_at, heartbeat_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pool_id) DO UPDATE SET "
        "heartbeat_at = $6, concurrency = $4",
        {SqlText(p.pool_id), SqlInt(p.pid), SqlText(p.host), SqlInt(p.concurrency),
         SqlInt(p.start_at), SqlInt(p.heartbeat_at)});
    if (!r.ok()) return r.status();
    // Pools silent for a day are gone for good.
    auto d = tx.Exec("DELETE FROM job_pool WHERE heartbeat_at < $1",
                     {SqlInt(p.heartbeat_at - 24LL * 3600 * 1000)});
    return d.status();
  });
}

StatusOr<std::vector<WorkerPoolRecord>> JobStore::Pools(int64_t alive_after) {
  std::vector<WorkerPoolRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(
        "SELECT pool_id, pid, host, concurrency, start_at, heartbeat_at FROM job_pool "
        "WHERE heartbeat_at >= $1 ORDER BY start_at, pool_id",
        {SqlInt(alive_after)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) {
      out.push_back({row.Text(0), row.Int(1), row.Text(2), static_cast<int>(row.Int(3)),
                     row.Int(4), row.Int(5)});
    }
    return {};
  }));
  return out;
}

Status JobStore::PutSchedule(const ScheduleRecord& s) {
  int64_t now = NowUnixMillis();
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "INSERT INTO schedule (vendor_type, vendor_id, cron, kind, params, next_run, "
        "creation_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
        "ON CONFLICT (vendor_type, vendor_id) DO UPDATE SET cron = $3, kind = $4, params = $5, "
        "next_run = $6, update_time = $7",
        {SqlText(s.vendor_type), SqlInt(s.vendor_id), SqlText(s.cron), SqlText(s.kind),
         SqlText(s.params_json), SqlInt(s.next_run), SqlInt(now)});
    return r.status();
  });
}

Status JobStore::DeleteSchedule(std::string_view vendor_type, int64_t vendor_id) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("DELETE FROM schedule WHERE vendor_type = $1 AND vendor_id = $2",
                     {SqlText(vendor_type), SqlInt(vendor_id)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("no schedule", "NOT_FOUND");
    return {};
  });
}

StatusOr<std::optional<ScheduleRecord>> JobStore::GetSchedule(std::string_view vendor_type,
                                                              int64_t vendor_id) {
  return QueryOptionalRow(
      db_, SelectSql(kScheduleColumns, "FROM schedule WHERE vendor_type = $1 AND vendor_id = $2"),
      {SqlText(vendor_type), SqlInt(vendor_id)}, ReadSchedule);
}

StatusOr<std::vector<ScheduleRecord>> JobStore::ListSchedules() {
  std::vector<ScheduleRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(SelectSql(kScheduleColumns, "FROM schedule ORDER BY id"));
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadSchedule(row));
    return {};
  }));
  return out;
}

StatusOr<std::vector<ScheduleRecord>> JobStore::DueSchedules(int64_t now) {
  std::vector<ScheduleRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r =
        tx.Exec(SelectSql(kScheduleColumns,
                          "FROM schedule WHERE next_run > 0 AND next_run <= $1 ORDER BY next_run"),
                {SqlInt(now)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadSchedule(row));
    return {};
  }));
  return out;
}

StatusOr<bool> JobStore::FireSchedule(int64_t id, int64_t expected_next, int64_t next,
                                      const NewJob& job) {
  bool fired = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    fired = false;
    // Compare-and-set on next_run: of all nodes ticking, exactly one moves it.
    auto u = tx.Exec("UPDATE schedule SET next_run = $3 WHERE id = $1 AND next_run = $2",
                     {SqlInt(id), SqlInt(expected_next), SqlInt(next)});
    if (!u.ok()) return u.status();
    if (u->affected != 1) return {};
    auto j = InsertJob(tx, job);
    if (!j.ok() && j.status().code() != Code::kConflict) return j.status();
    // A unique job still running from the last firing: this firing is skipped.
    fired = j.ok();
    return {};
  }));
  return fired;
}

}  // namespace berth
