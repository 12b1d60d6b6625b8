// AuditForwarder: sends audit entries to a syslog endpoint (RFC 5424 over
// TCP with octet-counting framing, RFC 6587), as Harbor's
// audit_log_forward_endpoint does. Called from the audit writer's thread; a
// lost connection is re-opened on the next batch, and entries that cannot be
// sent are counted and logged, never block the registry.
#ifndef BERTH_AUDIT_AUDIT_FORWARDER_H_
#define BERTH_AUDIT_AUDIT_FORWARDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/logger.h"
#include "store/audit_store.h"

namespace berth {

class AuditForwarder {
 public:
  // endpoint: "host:port".
  AuditForwarder(std::string endpoint, Logger& log);
  ~AuditForwarder();
  void Send(const std::vector<AuditRecord>& batch);
  // One RFC 5424 message (without framing), for tests.
  static std::string Format(const AuditRecord& r, const std::string& hostname);

 private:
  bool Connect();
  void Close();
  std::string endpoint_;
  std::string hostname_;
  Logger& log_;
  int fd_ = -1;
  int64_t next_connect_ms_ = 0;
};

}  // namespace berth

#endif  // BERTH_AUDIT_AUDIT_FORWARDER_H_
