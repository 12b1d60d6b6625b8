// JobStore: the job service's durable state in the metadata database: jobs
// (a queue with leases), their logs, paused queues, worker pools and cron
// schedules. On PostgreSQL claims use FOR UPDATE SKIP LOCKED, so any number
// of berthd processes on one database share the work; on SQLite the single
// writer serialises them.
#ifndef BERTH_STORE_JOB_STORE_H_
#define BERTH_STORE_JOB_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql.h"

namespace berth {

// Harbor's job statuses.
inline constexpr char kJobPending[] = "Pending";
inline constexpr char kJobScheduled[] = "Scheduled";  // pending with a later run_at
inline constexpr char kJobRunning[] = "Running";
inline constexpr char kJobStopped[] = "Stopped";
inline constexpr char kJobError[] = "Error";
inline constexpr char kJobSuccess[] = "Success";

struct JobRecord {
  int64_t id = 0;
  std::string kind;
  std::string params_json = "{}";
  std::string status;
  std::string trigger;  // Manual | Schedule | Event
  int attempts = 0;     // times a worker took it
  int max_attempts = 1; // handler failures allowed before Error
  int lost = 0;         // times its worker vanished (lease expired)
  int64_t run_at = 0;   // unix millis; not before
  int64_t enqueue_time = 0;
  int64_t update_time = 0;
  int64_t start_time = 0;
  int64_t end_time = 0;
  std::string worker;   // "<pool id>:<n>" of the last worker
  std::string lease_token;
  int64_t lease_expires_at = 0;
  std::string check_in;
  std::string error;
  std::string vendor_type;  // what the job belongs to (GARBAGE_COLLECTION, WEBHOOK, ...)
  int64_t vendor_id = 0;
  bool stop_requested = false;

  bool finished() const;
};

struct NewJob {
  std::string kind;
  std::string params_json = "{}";
  std::string trigger = "Manual";
  int max_attempts = 1;
  int64_t run_at = 0;  // 0: now
  std::string vendor_type;
  int64_t vendor_id = 0;
  // Refuse (kConflict, with the existing id in the message) when a job of
  // this kind and vendor is already Pending or Running.
  bool unique = false;
};

struct JobClaim {
  std::vector<std::string> kinds;  // the kinds this worker can run
  std::map<std::string, int> max_running;  // per-kind concurrency caps across all nodes
  std::string worker;
  std::string token;  // the lease's owner; must be unique per claim
  int64_t now = 0;
  int64_t lease_ms = 30000;
  int max_lost = 3;  // a job whose workers vanished this often fails
};

struct JobOutcome {
  std::string status;    // Success | Error | Stopped | Pending (retry)
  std::string error;
  int64_t retry_at = 0;  // with Pending
};

struct LeaseState {
  bool owned = false;          // false: the lease went to another worker
  bool stop_requested = false;
};

struct JobQueueInfo {
  std::string kind;
  int64_t count = 0;      // pending
  int64_t latency_s = 0;  // age of the oldest runnable pending job
  bool paused = false;
};

struct WorkerPoolRecord {
  std::string pool_id;
  int64_t pid = 0;
  std::string host;
  int concurrency = 0;
  int64_t start_at = 0;
  int64_t heartbeat_at = 0;
};

struct ScheduleRecord {
  int64_t id = 0;
  std::string vendor_type;
  int64_t vendor_id = 0;
  std::string cron;
  std::string kind;          // the job it enqueues
  std::string params_json = "{}";
  int64_t next_run = 0;      // unix millis
  int64_t creation_time = 0;
  int64_t update_time = 0;
};

struct JobPage {
  std::vector<JobRecord> items;
  int64_t total = 0;
};

class JobStore {
 public:
  explicit JobStore(SqlDatabase& db) : db_(db) {}

  StatusOr<int64_t> Enqueue(const NewJob& job);
  // Takes the next runnable job (pending and due, or running with an expired
  // lease), or nullopt.
  StatusOr<std::optional<JobRecord>> Claim(const JobClaim& claim);
  // Extends the lease while the worker still owns it.
  StatusOr<LeaseState> Heartbeat(int64_t id, std::string_view token, int64_t lease_until,
                                 std::string_view check_in);
  // Records the end of a run; false when the lease was lost meanwhile.
  StatusOr<bool> Finish(int64_t id, std::string_view token, const JobOutcome& outcome);
  Status AppendLog(int64_t id, const std::vector<std::pair<int64_t, std::string>>& lines);
  StatusOr<std::string> ReadLog(int64_t id);

  StatusOr<std::optional<JobRecord>> Get(int64_t id);
  // Newest first; vendor_id >= 0 keeps that vendor's jobs only.
  StatusOr<JobPage> List(std::string_view vendor_type, int64_t page, int64_t page_size,
                         int64_t vendor_id = -1);
  // Newest first: the jobs of one vendor (a webhook policy's deliveries, of
  // vendor types WEBHOOK and SLACK), in any of `statuses` when given.
  StatusOr<JobPage> ListByVendor(const std::vector<std::string>& vendor_types, int64_t vendor_id,
                                 int64_t page, int64_t page_size,
                                 const std::vector<std::string>& statuses = {});
  // How many jobs of one vendor are in each status (scan-all metrics).
  StatusOr<std::map<std::string, int64_t>> StatusCounts(std::string_view vendor_type,
                                                        int64_t vendor_id);
  StatusOr<std::vector<JobRecord>> Running();
  // Pending: stopped at once; Running: its worker is asked to stop. kNotFound
  // for an unknown id; false when it had already finished.
  StatusOr<bool> RequestStop(int64_t id);
  Status StopQueue(std::string_view kind);  // "all" for every kind
  Status SetPaused(std::string_view kind, bool paused);
  StatusOr<bool> IsPaused(std::string_view kind);
  // One entry per kind in `kinds` plus any kind with pending jobs.
  StatusOr<std::vector<JobQueueInfo>> Queues(const std::vector<std::string>& kinds, int64_t now);
  // Drops finished jobs of a vendor type beyond the newest `keep`.
  StatusOr<int64_t> PruneFinished(std::string_view vendor_type, int64_t keep);

  Status UpsertPool(const WorkerPoolRecord& pool);
  StatusOr<std::vector<WorkerPoolRecord>> Pools(int64_t alive_after);

  Status PutSchedule(const ScheduleRecord& s);
  // kNotFound when there was none.
  Status DeleteSchedule(std::string_view vendor_type, int64_t vendor_id);
  StatusOr<std::optional<ScheduleRecord>> GetSchedule(std::string_view vendor_type,
                                                      int64_t vendor_id);
  StatusOr<std::vector<ScheduleRecord>> ListSchedules();
  StatusOr<std::vector<ScheduleRecord>> DueSchedules(int64_t now);
  // Moves the schedule from `expected_next` to `next` and enqueues `job` in
  // one transaction; false when another node fired it first.
  StatusOr<bool> FireSchedule(int64_t id, int64_t expected_next, int64_t next, const NewJob& job);

 private:
  // "SELECT ... FROM job <where> ORDER BY id DESC" one page, with the total.
  StatusOr<JobPage> PageOfJobs(const std::string& where, const std::vector<SqlValue>& params,
                               int64_t page, int64_t page_size);
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_JOB_STORE_H_
