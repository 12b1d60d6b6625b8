// PluginStorageDriver: a StorageDriver backed by a storage plugin's C vtable.
//
// This is the single place where the core checks paths before they reach a
// storage plugin; every call goes through PluginCaller (plugin/plugin_call.h)
// for the call context, locking, status mapping, logging and metrics.
// Streams use the 1.1 slots (call context on every read and write, typed
// handles) when the plugin has them, the 1.0 ones otherwise.
#ifndef BERTH_PLUGIN_PLUGIN_STORAGE_DRIVER_H_
#define BERTH_PLUGIN_PLUGIN_STORAGE_DRIVER_H_

#include <berth/plugin.h>

#include <memory>
#include <string>

#include "blob/storage_driver.h"
#include "common/logger.h"
#include "plugin/plugin_call.h"

namespace berth {

// True when the vtable carries the 1.1 stream slots (any of them set: the
// loader then requires all nine).
bool StorageHasStreamsV2(const berth_storage_vtable* vt);

class PluginStorageDriver : public StorageDriver {
 public:
  // Takes ownership of `instance` (destroyed through provider->destroy).
  // A call that returns after `call_timeout_ms` fails with kDeadlineExceeded
  // (the plugin sees the deadline in its call context). Plugin failures other
  // than "not found" are logged.
  PluginStorageDriver(const berth_provider* provider, void* instance, Logger* log = nullptr,
                      int64_t call_timeout_ms = 60000);
  ~PluginStorageDriver() override;

  BERTH_STORAGE_DRIVER_CONVENIENCE;
  std::string name() const override;
  Status GetContent(const CallContext& ctx, std::string_view path, std::string* out,
                    size_t max_size) override;
  Status PutContent(const CallContext& ctx, std::string_view path, std::string_view data) override;
  StatusOr<std::unique_ptr<StorageReader>> OpenReader(const CallContext& ctx,
                                                      std::string_view path,
                                                      int64_t offset) override;
  StatusOr<std::unique_ptr<StorageWriter>> OpenWriter(const CallContext& ctx,
                                                      std::string_view path,
                                                      bool append) override;
  StatusOr<FileInfo> Stat(const CallContext& ctx, std::string_view path) override;
  StatusOr<std::vector<std::string>> List(const CallContext& ctx, std::string_view path) override;
  Status Move(const CallContext& ctx, std::string_view src, std::string_view dst) override;
  Status Remove(const CallContext& ctx, std::string_view path) override;
  Status Walk(const CallContext& ctx, std::string_view path, const WalkFn& fn) override;
  StatusOr<std::string> RedirectUrl(const CallContext& ctx, std::string_view method,
                                    std::string_view path, int64_t ttl_seconds) override;
  StatusOr<int> OpenFd(const CallContext& ctx, std::string_view path) override;
  bool CanOpenFd() const override;

 private:
  friend class PluginStorageReader;
  friend class PluginStorageWriter;

  const berth_provider* provider_;
  const berth_storage_vtable* vt_;
  void* self_;
  bool v2_;
  PluginCaller caller_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_STORAGE_DRIVER_H_
