// AuditLog: records operations off the request path. Entries are batched
// and written by a background thread; Stop() flushes what is pending.
#ifndef BERTH_AUDIT_AUDIT_LOG_H_
#define BERTH_AUDIT_AUDIT_LOG_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "audit/audit_forwarder.h"
#include "common/logger.h"
#include "store/audit_store.h"

namespace berth {

class AuditLog {
 public:
  AuditLog(AuditStore& store, Logger& log);
  ~AuditLog();
  // Optional: entries also go to a syslog endpoint (null: none); with
  // skip_database only there. At any time: /configurations changes it.
  void set_forwarder(std::shared_ptr<AuditForwarder> f, bool skip_database) {
    std::lock_guard<std::mutex> lock(mu_);
    skip_database_ = skip_database && f != nullptr;
    forwarder_ = std::move(f);
  }
  void set_skip_database(bool skip_database) {
    std::lock_guard<std::mutex> lock(mu_);
    skip_database_ = skip_database && forwarder_ != nullptr;
  }
  void Start();
  void Stop();
  // op_time is filled in when zero.
  void Record(AuditRecord r);
  // Blocks until every entry recorded so far is written (tests, shutdown).
  void Flush();

 private:
  void Run();
  AuditStore& store_;
  Logger& log_;
  std::shared_ptr<AuditForwarder> forwarder_;
  bool skip_database_ = false;
  std::mutex mu_;
  std::condition_variable cv_, flushed_;
  std::vector<AuditRecord> pending_;
  uint64_t recorded_ = 0, written_ = 0;
  bool flush_requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth

#endif  // BERTH_AUDIT_AUDIT_LOG_H_
