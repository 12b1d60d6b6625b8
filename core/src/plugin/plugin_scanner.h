// PluginScanner: a scanner plugin's C vtable (the pluggable scanner API as
// calls) behind a C++ class. Every call runs with a deadline on a thread of
// its own: a plugin that ignores its deadline (a hung scanner) costs that
// thread, never the job worker or the registry. A hung call is abandoned and
// reported as kDeadlineExceeded; the plugin's instance is kept alive (shared)
// until every call on it has returned.
#ifndef BERTH_PLUGIN_PLUGIN_SCANNER_H_
#define BERTH_PLUGIN_PLUGIN_SCANNER_H_

#include <berth/plugin.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "plugin/plugin_call.h"
#include "common/status.h"

namespace berth {

struct ScanSubmission {
  std::string registry_url;
  std::string registry_authorization;  // "Bearer <jwt>"
  std::string repository;
  std::string digest;
  std::string tag;
  std::string mime_type;          // the manifest's media type
  std::string capabilities_json;  // enabled_capabilities (spec v1.2); may be empty
};

// A report not ready yet: ask again after `retry_after_s`.
struct ReportPoll {
  bool ready = false;
  std::string report;
  int64_t retry_after_s = 0;
};

class PluginScanner {
 public:
  // Takes ownership of `instance`; `name` identifies it in errors
  // ("scanner 'trivy'").
  PluginScanner(const berth_provider* provider, void* instance);
  ~PluginScanner();
  PluginScanner(const PluginScanner&) = delete;
  PluginScanner& operator=(const PluginScanner&) = delete;

  const berth_provider* provider() const { return provider_; }

  // ScannerAdapterMetadata JSON (checked to be a JSON object).
  StatusOr<std::string> Metadata(int64_t timeout_ms);
  // The scanner's id for the scan.
  StatusOr<std::string> Submit(const ScanSubmission& req, int64_t timeout_ms);
  // kNotFound for an unknown id (the scanner lost it).
  StatusOr<ReportPoll> Report(const std::string& scan_id, const std::string& mime_type,
                              int64_t timeout_ms);

  // Largest report accepted from a plugin.
  static constexpr size_t kMaxReportBytes = 256u << 20;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  const berth_provider* provider_;
  // The call context, status mapping, log line and metrics of every call
  // (the call itself runs on a thread it can abandon, see RunCall).
  std::unique_ptr<PluginCaller> caller_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_SCANNER_H_
