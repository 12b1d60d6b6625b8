// Notifier: delivers one payload to one target. Implemented by notifier
// plugins (plugin/plugin_notifier.h); retries live in the dispatcher.
#ifndef BERTH_NOTIFY_NOTIFIER_H_
#define BERTH_NOTIFY_NOTIFIER_H_

#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth {

// The job kind of every delivery (configured endpoints and webhook policies).
inline constexpr char kWebhookJobKind[] = "WEBHOOK";

struct Delivery {
  std::string event_type;
  std::string payload_format;  // "Default" | "CloudEvents"
  std::string payload;
  std::string content_type;
  std::string address;
  std::string auth_header;
  bool skip_cert_verify = false;
  int attempt = 1;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // kUnavailable / kDeadlineExceeded are transient (retried); anything else
  // is final.
  virtual Status Deliver(const Delivery& d, int64_t deadline_unix_ns) = 0;
};

}  // namespace berth

#endif  // BERTH_NOTIFY_NOTIFIER_H_
