#include "scan_jobs.h"

#include <algorithm>

namespace berth::scanner {

ScanJobs::ScanJobs(int workers, std::chrono::seconds ttl) : ttl_(ttl) {
  workers = std::max(1, workers);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { Worker(); });
}

ScanJobs::~ScanJobs() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::string ScanJobs::Submit(Work work) {
  auto job = std::make_shared<Job>();
  job->id = NewScanId();
  job->work = std::move(work);
  {
    std::lock_guard<std::mutex> l(mu_);
    ExpireLocked(std::chrono::steady_clock::now());
    jobs_[job->id] = job;
    queue_.push_back(job);
  }
  cv_.notify_one();
  return job->id;
}

void ScanJobs::Worker() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
      job->state = State::kRunning;
      job->started = std::chrono::steady_clock::now();
    }
    ScanOutcome out;
    try {
      out = job->work(stopping_);
    } catch (const std::exception& e) {
      out.status = Status::Internal(std::string("scan threw: ") + e.what());
    } catch (...) {
      out.status = Status::Internal("scan threw a non-standard exception");
    }
    std::lock_guard<std::mutex> l(mu_);
    job->outcome = std::move(out);
    job->work = nullptr;
    job->state = State::kDone;
    job->ended = std::chrono::steady_clock::now();
  }
}

void ScanJobs::ExpireLocked(std::chrono::steady_clock::time_point now) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->second->state == State::kDone && now - it->second->ended > ttl_) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

Status ScanJobs::Get(const std::string& id, const std::string& key, std::string* report,
                     int64_t* retry_after_seconds) {
  std::lock_guard<std::mutex> l(mu_);
  auto now = std::chrono::steady_clock::now();
  ExpireLocked(now);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Status::NotFound("no scan with id '" + id + "'");
  const Job& job = *it->second;
  switch (job.state) {
    case State::kQueued:
      *retry_after_seconds = 2;
      return Status::Retry("scan " + id + " is queued");
    case State::kRunning: {
      // Poll often at first (small images finish in seconds), then less.
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - job.started).count();
      *retry_after_seconds = std::min<int64_t>(5, 1 + secs / 10);
      return Status::Retry("scan " + id + " is running");
    }
    case State::kDone:
      break;
  }
  if (!job.outcome.status.ok()) {
    // NOT_FOUND and RETRY mean "unknown id" and "not ready" to the host: a
    // failed scan is neither.
    const Status& f = job.outcome.status;
    if (f.code() == BERTH_E_NOT_FOUND || f.code() == BERTH_E_RETRY) return Status::IO(f.message());
    return f;
  }
  auto r = job.outcome.reports.find(key);
  if (r == job.outcome.reports.end()) {
    // Not NOT_FOUND: to the host that means "unknown scan id".
    return Status::InvalidArgument("scan " + id + " produced no " + key +
                                   " report: its submit_scan did not ask for one");
  }
  *report = r->second;
  return {};
}

size_t ScanJobs::Pending() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [id, job] : jobs_) n += job->state != State::kDone;
  return n;
}

}  // namespace berth::scanner
