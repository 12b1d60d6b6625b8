// Conversions between the plugin ABI's status codes and berthd's Status.
#ifndef BERTH_PLUGIN_PLUGIN_STATUS_H_
#define BERTH_PLUGIN_PLUGIN_STATUS_H_

#include <berth/plugin.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace berth {

// Unknown values are treated as BERTH_E_INTERNAL.
Status FromPluginStatus(berth_status code, std::string message);
const char* PluginStatusName(berth_status code);

// A host-owned sink collecting bytes into a string, optionally bounded.
class StringSink {
 public:
  explicit StringSink(size_t max_bytes = 0);
  berth_sink* get() { return &sink_; }
  const std::string& str() const { return data_; }
  std::string& str() { return data_; }
  bool overflowed() const { return overflowed_; }

 private:
  static berth_status Append(void* ctx, const void* data, size_t len);
  berth_sink sink_;
  std::string data_;
  size_t max_;
  bool overflowed_ = false;
};

// A sink where each append() is one item (list results).
class ListSink {
 public:
  ListSink();
  berth_sink* get() { return &sink_; }
  std::vector<std::string>& items() { return items_; }

 private:
  static berth_status Append(void* ctx, const void* data, size_t len);
  berth_sink sink_;
  std::vector<std::string> items_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_STATUS_H_
