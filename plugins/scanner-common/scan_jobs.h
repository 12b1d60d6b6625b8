// ScanJobs: the background side of submit_scan/get_report for scanners that
// do the work themselves. submit_scan queues a job and returns at once; a
// fixed number of worker threads run jobs (so a scan-all cannot start a
// thousand scanner processes); get_report answers RETRY until the job ends.
// Finished jobs are forgotten `ttl` after they end.
#ifndef BERTH_PLUGINS_SCANNER_COMMON_SCAN_JOBS_H_
#define BERTH_PLUGINS_SCANNER_COMMON_SCAN_JOBS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "scan_common.h"

namespace berth::scanner {

// What a job produced: reports by key (the plugin chooses the keys, e.g.
// "vulnerability", "raw", "sbom:application/spdx+json"), or a failure.
struct ScanOutcome {
  Status status;
  std::map<std::string, std::string> reports;
};

class ScanJobs {
 public:
  // A job's work. `stopping` turns true when the plugin instance is being
  // destroyed: long work checks it and gives up.
  using Work = std::function<ScanOutcome(const std::atomic<bool>& stopping)>;

  ScanJobs(int workers, std::chrono::seconds ttl);
  ~ScanJobs();  // stops the workers; running work sees `stopping`
  ScanJobs(const ScanJobs&) = delete;
  ScanJobs& operator=(const ScanJobs&) = delete;

  // Queues work; returns its scan id.
  std::string Submit(Work work);

  // The report `key` of scan `id`: OK with *report; RETRY with
  // *retry_after_seconds while queued or running; NOT_FOUND for an unknown
  // (or expired) id; the job's own error when it failed (never NOT_FOUND or
  // RETRY); INVALID_ARGUMENT naming the key when the job finished without
  // that report (the scan was not asked for it).
  Status Get(const std::string& id, const std::string& key, std::string* report,
             int64_t* retry_after_seconds);

  // Jobs queued or running (for tests and metrics).
  size_t Pending() const;

 private:
  enum class State { kQueued, kRunning, kDone };
  struct Job {
    std::string id;
    Work work;
    State state = State::kQueued;
    std::chrono::steady_clock::time_point started, ended;
    ScanOutcome outcome;
  };

  void Worker();
  void ExpireLocked(std::chrono::steady_clock::time_point now);

  const std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
};

}  // namespace berth::scanner

#endif  // BERTH_PLUGINS_SCANNER_COMMON_SCAN_JOBS_H_
