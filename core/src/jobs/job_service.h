// JobService: runs background work (GC, webhook deliveries, audit purges,
// and later scans, retention, replication, preheat) from the durable queue in
// the metadata store. Each berthd process is one worker pool: N worker
// threads claim jobs with a lease that a ticker thread renews; a process that
// dies (kill -9) stops renewing, and after the lease expires any node takes
// the job again. The same ticker fires cron schedules, exactly once per
// firing across all nodes (compare-and-set on the schedule's next run).
//
// A job kind registers one handler. Handlers run on worker threads, must
// return when ctx.stopping() turns true (a stop request or shutdown), and
// write their progress to ctx's log, which the API serves.
#ifndef BERTH_JOBS_JOB_SERVICE_H_
#define BERTH_JOBS_JOB_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/logger.h"
#include "http/metrics.h"
#include "store/job_store.h"

namespace berth {

struct JobKind {
  std::string name;             // GARBAGE_COLLECTION, WEBHOOK, ...
  int max_attempts = 1;         // Harbor's MaxFails
  int64_t retry_backoff_ms = 10000;  // before the 2nd attempt; doubles after
  int64_t max_backoff_ms = 600000;
  int max_running = 0;          // across all nodes; 0 = no limit
  int max_local = 0;            // on this node; 0 = no limit (keeps workers for other kinds)
};

class JobContext {
 public:
  JobContext(JobRecord job, std::shared_ptr<std::atomic<bool>> stop)
      : job_(std::move(job)), stop_(std::move(stop)) {}
  const JobRecord& job() const { return job_; }
  int64_t id() const { return job_.id; }
  const std::string& params_json() const { return job_.params_json; }
  // True once the job is asked to stop or the process shuts down.
  bool stopping() const { return stop_->load(); }

  void Info(const std::string& line) { Log("INFO", line); }
  void Warn(const std::string& line) { Log("WARNING", line); }
  void Error(const std::string& line) { Log("ERROR", line); }
  // A short progress note shown as the job's check_in.
  void CheckIn(const std::string& note);
  // The error this run returns is final: no retry whatever max_attempts says.
  void GiveUp() { give_up_ = true; }
  bool gave_up() const { return give_up_; }

  // For the service: lines not yet written, and the latest check-in.
  std::vector<std::pair<int64_t, std::string>> TakeLines();
  std::string check_in();

 private:
  void Log(const char* level, const std::string& line);
  JobRecord job_;
  std::shared_ptr<std::atomic<bool>> stop_;
  std::mutex mu_;
  std::vector<std::pair<int64_t, std::string>> lines_;
  std::string check_in_;
  std::atomic<bool> give_up_{false};
};

using JobHandler = std::function<Status(JobContext&)>;

struct JobServiceOptions {
  int workers = 4;
  int64_t lease_ms = 30000;
  int64_t poll_ms = 1000;   // how often idle workers look for other nodes' jobs
  int64_t tick_ms = 1000;   // lease renewal, schedules, log flushing
  int max_lost = 3;
  std::string host;
};

class JobService {
 public:
  JobService(JobStore& store, JobServiceOptions options, Logger& log, Metrics& metrics);
  ~JobService();

  // Before Start().
  void Register(const JobKind& kind, JobHandler handler);
  Status Start();
  // Running jobs are asked to stop and go back to the queue for another run.
  void Stop();

  // Enqueues and wakes a local worker. max_attempts comes from the kind.
  StatusOr<int64_t> Enqueue(NewJob job);
  // Validates the cron (kInvalidArgument) and stores the schedule with its
  // next firing time.
  Status SetSchedule(const std::string& vendor_type, int64_t vendor_id, const std::string& cron,
                     const std::string& kind, const std::string& params_json);
  // The next firing time in unix millis, -1 for a cron that never fires.
  static StatusOr<int64_t> NextRun(const std::string& cron, int64_t after_ms);

  JobStore& store() { return store_; }
  const std::string& pool_id() const { return pool_id_; }
  int concurrency() const { return options_.workers; }
  std::vector<std::string> kinds() const;
  // The queue that pauses every schedule, as Harbor's dashboard names it.
  static constexpr const char* kSchedulerQueue = "SCHEDULER";

 private:
  struct Running {
    JobRecord job;
    std::shared_ptr<std::atomic<bool>> stop;
    std::shared_ptr<JobContext> ctx;
    bool lost = false;
  };
  void WorkerLoop(int index);
  void RunJob(int index, JobRecord job);
  void TickerLoop();
  void Tick();
  void FireSchedules(int64_t now);
  void FlushLogs(JobContext& ctx);

  JobStore& store_;
  JobServiceOptions options_;
  Logger& log_;
  Metrics& metrics_;
  uint32_t m_started_, m_succeeded_, m_failed_, m_retried_;
  std::string pool_id_;
  int64_t started_at_ = 0;
  int64_t last_pool_beat_ = 0;  // ticker thread only
  std::map<std::string, std::pair<JobKind, JobHandler>> kinds_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t wakeups_ = 0;
  std::map<int64_t, std::shared_ptr<Running>> running_;
  std::map<std::string, int> local_running_;  // per kind
  int64_t next_retry_ms_ = 0;  // earliest retry this node queued; 0 = none
  std::vector<std::thread> workers_;
  std::thread ticker_;
};

}  // namespace berth

#endif  // BERTH_JOBS_JOB_SERVICE_H_
