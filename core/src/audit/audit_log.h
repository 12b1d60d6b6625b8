// AuditLog: records operations off the request path. Entries are batched
// and written by a background thread; Stop() flushes what is pending.
#ifndef BERTH_AUDIT_AUDIT_LOG_H_
#define BERTH_AUDIT_AUDIT_LOG_H_

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/logger.h"
#include "store/audit_store.h"

namespace berth {

class AuditLog {
 public:
  AuditLog(AuditStore& store, Logger& log);
  ~AuditLog();
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
