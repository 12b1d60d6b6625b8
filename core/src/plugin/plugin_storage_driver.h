// PluginStorageDriver: a StorageDriver backed by a storage plugin's C vtable.
//
// This is the single place where the core checks paths before they reach a
// plugin, serialises calls for SERIALIZED providers, and turns plugin status
// codes into Status.
#ifndef BERTH_PLUGIN_PLUGIN_STORAGE_DRIVER_H_
#define BERTH_PLUGIN_PLUGIN_STORAGE_DRIVER_H_

#include <berth/plugin.h>

#include <memory>
#include <mutex>
#include <string>

#include "blob/storage_driver.h"
#include "common/logger.h"

namespace berth {

class PluginStorageDriver : public StorageDriver {
 public:
  // Takes ownership of `instance` (destroyed through provider->destroy).
  // A call that returns after `call_timeout_ms` fails with kDeadlineExceeded
  // (the plugin sees the deadline in its call context). Plugin failures other
  // than "not found" are logged.
  PluginStorageDriver(const berth_provider* provider, void* instance, Logger* log = nullptr,
                      int64_t call_timeout_ms = 60000);
  ~PluginStorageDriver() override;

  std::string name() const override;
  Status GetContent(std::string_view path, std::string* out, size_t max_size) override;
  Status PutContent(std::string_view path, std::string_view data) override;
  StatusOr<std::unique_ptr<StorageReader>> OpenReader(std::string_view path,
                                                      int64_t offset) override;
  StatusOr<std::unique_ptr<StorageWriter>> OpenWriter(std::string_view path, bool append) override;
  StatusOr<FileInfo> Stat(std::string_view path) override;
  StatusOr<std::vector<std::string>> List(std::string_view path) override;
  Status Move(std::string_view src, std::string_view dst) override;
  Status Remove(std::string_view path) override;
  Status Walk(std::string_view path, const WalkFn& fn) override;
  StatusOr<std::string> RedirectUrl(std::string_view method, std::string_view path,
                                    int64_t ttl_seconds) override;
  StatusOr<int> OpenFd(std::string_view path) override;
  bool CanOpenFd() const override;

 private:
  friend class PluginStorageReader;
  friend class PluginStorageWriter;
  // Locks for SERIALIZED providers; a no-op lock otherwise.
  std::unique_lock<std::mutex> Lock();
  berth_call_ctx MakeCall() const;
  // Turns a plugin result into a Status: deadline check, message, logging.
  Status Result(berth_status rc, const std::string& error, const char* op,
                const berth_call_ctx& call);

  const berth_provider* provider_;
  const berth_storage_vtable* vt_;
  void* self_;
  bool serialized_;
  Logger* log_;
  int64_t call_timeout_ns_;
  std::mutex mu_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_STORAGE_DRIVER_H_
