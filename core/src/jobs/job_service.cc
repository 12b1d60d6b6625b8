#include "jobs/job_service.h"

#include <unistd.h>

#include <chrono>

#include "common/call_context.h"
#include "common/clock.h"
#include "common/random.h"
#include "jobs/cron.h"

namespace berth {

void JobContext::Log(const char* level, const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  lines_.emplace_back(NowUnixMillis(), std::string("[") + level + "] " + line);
}

void JobContext::CheckIn(const std::string& note) {
  std::lock_guard<std::mutex> lock(mu_);
  check_in_ = note;
}

std::vector<std::pair<int64_t, std::string>> JobContext::TakeLines() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(lines_, {});
}

std::string JobContext::check_in() {
  std::lock_guard<std::mutex> lock(mu_);
  return check_in_;
}

JobService::JobService(JobStore& store, JobServiceOptions options, Logger& log, Metrics& metrics)
    : store_(store), options_(std::move(options)), log_(log), metrics_(metrics) {
  if (options_.workers < 1) options_.workers = 1;
  if (options_.host.empty()) {
    char h[256] = {0};
    gethostname(h, sizeof(h) - 1);
    options_.host = h;
  }
  pool_id_ = RandomHex(12);
  m_started_ = metrics_.Define("berth_jobs_started_total", "Jobs taken by this node's workers.", true);
  m_succeeded_ = metrics_.Define("berth_jobs_succeeded_total", "Jobs that ended in Success.", true);
  m_failed_ = metrics_.Define("berth_jobs_failed_total", "Jobs that ended in Error.", true);
  m_retried_ = metrics_.Define("berth_jobs_retried_total", "Failed job runs that will be retried.", true);
}

JobService::~JobService() { Stop(); }

void JobService::Register(const JobKind& kind, JobHandler handler) {
  kinds_[kind.name] = {kind, std::move(handler)};
}

std::vector<std::string> JobService::kinds() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : kinds_) out.push_back(name);
  return out;
}

Status JobService::Start() {
  started_at_ = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(store_.UpsertPool({pool_id_, static_cast<int64_t>(getpid()), options_.host,
                                           options_.workers, started_at_, started_at_}));
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
  ticker_ = std::thread([this] { TickerLoop(); });
  log_.Info("job service started", {{"pool", pool_id_}, {"workers", options_.workers}});
  return {};
}

void JobService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [_, r] : running_) r->stop->store(true);
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  if (ticker_.joinable()) ticker_.join();
}

StatusOr<int64_t> JobService::Enqueue(NewJob job) {
  auto it = kinds_.find(job.kind);
  if (it != kinds_.end()) job.max_attempts = it->second.first.max_attempts;
  BERTH_ASSIGN_OR_RETURN(int64_t id, store_.Enqueue(job));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakeups_;
  }
  cv_.notify_one();
  return id;
}

StatusOr<int64_t> JobService::NextRun(const std::string& cron, int64_t after_ms) {
  BERTH_ASSIGN_OR_RETURN(CronSchedule c, CronSchedule::Parse(cron));
  int64_t next = c.Next(after_ms / 1000);
  return next < 0 ? -1 : next * 1000;
}

Status JobService::SetSchedule(const std::string& vendor_type, int64_t vendor_id,
                               const std::string& cron, const std::string& kind,
                               const std::string& params_json) {
  BERTH_ASSIGN_OR_RETURN(int64_t next, NextRun(cron, NowUnixMillis()));
  if (next < 0) {
    return Status::InvalidArgument("cron '" + cron + "' never fires", "BAD_REQUEST");
  }
  ScheduleRecord s;
  s.vendor_type = vendor_type;
  s.vendor_id = vendor_id;
  s.cron = cron;
  s.kind = kind;
  s.params_json = params_json;
  s.next_run = next;
  return store_.PutSchedule(s);
}

void JobService::WorkerLoop(int index) {
  std::map<std::string, int> caps;
  for (const auto& [name, k] : kinds_) {
    if (k.first.max_running > 0) caps[name] = k.first.max_running;
  }
  const std::string worker = pool_id_ + ":" + std::to_string(index);
  while (true) {
    uint64_t seen;
    std::vector<std::string> kinds;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      seen = wakeups_;
      for (const auto& [name, k] : kinds_) {
        if (k.first.max_local > 0 && local_running_[name] >= k.first.max_local) continue;
        kinds.push_back(name);
      }
    }
    JobClaim claim;
    claim.kinds = kinds;
    claim.max_running = caps;
    claim.worker = worker;
    claim.token = RandomHex(16);
    claim.now = NowUnixMillis();
    claim.lease_ms = options_.lease_ms;
    claim.max_lost = options_.max_lost;
    auto job = store_.Claim(claim);
    if (!job.ok()) {
      log_.Warn("job claim failed", {{"error", job.status().message()}});
    } else if (*job) {
      RunJob(index, std::move(**job));
      continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    // A retry this node queued may be due before the next poll.
    int64_t wait = options_.poll_ms;
    if (next_retry_ms_ > 0) {
      int64_t until = next_retry_ms_ - NowUnixMillis();
      if (until <= 0) next_retry_ms_ = 0;
      wait = std::max<int64_t>(1, std::min(wait, until));
    }
    cv_.wait_for(lock, std::chrono::milliseconds(wait),
                 [&] { return stopping_ || wakeups_ != seen; });
  }
}

void JobService::FlushLogs(JobContext& ctx) {
  auto lines = ctx.TakeLines();
  if (lines.empty()) return;
  if (Status s = store_.AppendLog(ctx.id(), lines); !s.ok()) {
    log_.Warn("job log write failed", {{"job_id", ctx.id()}, {"error", s.message()}});
  }
}

void JobService::RunJob(int index, JobRecord job) {
  (void)index;
  auto kit = kinds_.find(job.kind);
  auto run = std::make_shared<Running>();
  run->job = job;
  run->stop = std::make_shared<std::atomic<bool>>(job.stop_requested);
  run->ctx = std::make_shared<JobContext>(job, run->stop);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) run->stop->store(true);
    running_[job.id] = run;
    local_running_[job.kind]++;
  }
  metrics_.Add(m_started_, 1);
  JobContext& ctx = *run->ctx;
  log_.Info("job started", {{"job_id", job.id}, {"kind", job.kind}, {"attempt", job.attempts}});
  if (job.attempts > 1) {
    ctx.Info("attempt " + std::to_string(job.attempts) +
             (job.lost > 0 ? " (an earlier worker stopped answering)" : ""));
  }
  // Plugin calls the job makes on this thread carry "job-<id>" as request id
  // and see the job's stop request as cancellation.
  CallContext call = CallContext::ForJob(job.id);
  call.cancellation = std::make_shared<Cancellation>([stop = run->stop] { return stop->load(); });
  ScopedCallContext call_scope(call);
  Status result;
  try {
    result = kit->second.second(ctx);
  } catch (const std::exception& e) {
    result = Status::Internal(std::string("job handler threw: ") + e.what());
  }
  bool shutting_down;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down = stopping_;
    running_.erase(job.id);
    local_running_[job.kind]--;
  }
  JobOutcome out;
  const JobKind& kind = kit->second.first;
  bool user_stop = run->stop->load() && !shutting_down;
  if (user_stop) {
    out.status = kJobStopped;
    ctx.Info("stopped on request");
  } else if (shutting_down && !result.ok()) {
    // Interrupted by this node's shutdown: back to the queue, any node resumes it.
    out.status = kJobPending;
    out.retry_at = NowUnixMillis();
    ctx.Warn("interrupted by shutdown; queued again");
  } else if (result.ok()) {
    out.status = kJobSuccess;
  } else if (job.attempts < kind.max_attempts && !ctx.gave_up()) {
    int64_t backoff = kind.retry_backoff_ms;
    for (int i = 1; i < job.attempts && backoff < kind.max_backoff_ms; ++i) backoff *= 2;
    backoff = std::min(backoff, kind.max_backoff_ms);
    out.status = kJobPending;
    out.error = result.message();
    out.retry_at = NowUnixMillis() + backoff;
    ctx.Warn("failed: " + result.message() + "; retry in " + std::to_string(backoff) + " ms");
    metrics_.Add(m_retried_, 1);
    std::lock_guard<std::mutex> lock(mu_);
    if (next_retry_ms_ == 0 || out.retry_at < next_retry_ms_) next_retry_ms_ = out.retry_at;
  } else {
    out.status = kJobError;
    out.error = result.message();
    ctx.Error("failed: " + result.message());
  }
  FlushLogs(ctx);
  auto owned = run->lost ? StatusOr<bool>(false) : store_.Finish(job.id, job.lease_token, out);
  if (!owned.ok()) {
    log_.Error("job result not recorded; the lease will expire and it runs again",
               {{"job_id", job.id}, {"error", owned.status().message()}});
    return;
  }
  if (!*owned) {
    log_.Warn("job lease lost before it finished; its result is dropped",
              {{"job_id", job.id}, {"kind", job.kind}});
    return;
  }
  cv_.notify_all();  // a local slot of this kind is free again
  if (out.status == kJobSuccess) metrics_.Add(m_succeeded_, 1);
  if (out.status == kJobError) metrics_.Add(m_failed_, 1);
  log_.Info("job finished", {{"job_id", job.id}, {"kind", job.kind}, {"status", out.status},
                             {"error", out.error}});
}

void JobService::TickerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Tick();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms), [this] { return stopping_; });
  }
}

void JobService::Tick() {
  int64_t now = NowUnixMillis();
  std::vector<std::shared_ptr<Running>> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [_, r] : running_) running.push_back(r);
  }
  for (auto& r : running) {
    FlushLogs(*r->ctx);
    auto st = store_.Heartbeat(r->job.id, r->job.lease_token, now + options_.lease_ms,
                               r->ctx->check_in());
    if (!st.ok()) {
      log_.Warn("job heartbeat failed", {{"job_id", r->job.id}, {"error", st.status().message()}});
      continue;
    }
    if (!st->owned) {
      // Another worker holds it now (this node stalled past the lease).
      r->lost = true;
      r->stop->store(true);
    } else if (st->stop_requested) {
      r->stop->store(true);
    }
  }
  if (now - last_pool_beat_ < 5000) {
    FireSchedules(now);
    return;
  }
  last_pool_beat_ = now;
  if (Status s = store_.UpsertPool({pool_id_, static_cast<int64_t>(getpid()), options_.host,
                                    options_.workers, started_at_, now});
      !s.ok()) {
    log_.Warn("worker pool heartbeat failed", {{"error", s.message()}});
  }
  FireSchedules(now);
}

void JobService::FireSchedules(int64_t now) {
  auto paused = store_.IsPaused(kSchedulerQueue);
  if (!paused.ok() || *paused) return;
  auto due = store_.DueSchedules(now);
  if (!due.ok()) {
    log_.Warn("reading schedules failed", {{"error", due.status().message()}});
    return;
  }
  for (const ScheduleRecord& s : *due) {
    auto next = NextRun(s.cron, now);
    int64_t next_ms = next.ok() ? *next : -1;
    NewJob job;
    job.kind = s.kind;
    job.params_json = s.params_json;
    job.trigger = "Schedule";
    job.vendor_type = s.vendor_type;
    job.vendor_id = s.vendor_id;
    job.unique = true;
    auto k = kinds_.find(s.kind);
    if (k != kinds_.end()) job.max_attempts = k->second.first.max_attempts;
    auto fired = store_.FireSchedule(s.id, s.next_run, next_ms < 0 ? 0 : next_ms, job);
    if (!fired.ok()) {
      log_.Warn("firing a schedule failed", {{"schedule", s.id}, {"error", fired.status().message()}});
      continue;
    }
    if (*fired) {
      log_.Info("schedule fired", {{"vendor_type", s.vendor_type}, {"vendor_id", s.vendor_id},
                                   {"cron", s.cron}});
      std::lock_guard<std::mutex> lock(mu_);
      ++wakeups_;
      cv_.notify_all();
    }
  }
}

}  // namespace berth
