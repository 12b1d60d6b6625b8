// FsDriver: the filesystem storage driver behind the storage-fs plugin.
//
// Layout under the configured root: data/<path> holds objects, tmp/ holds
// whole-object writes until they are fsynced and renamed into place, so a
// crash never leaves a half-written object at its final path.
#ifndef BERTH_PLUGINS_STORAGE_FS_FS_DRIVER_H_
#define BERTH_PLUGINS_STORAGE_FS_FS_DRIVER_H_

#include <berth/plugin_sdk.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace berth::storage_fs {

// The provider's config schema: {"root": "<directory>"}.
extern const char kConfigSchema[];

class FsDriver : public berth::sdk::StorageDriver {
 public:
  using Status = berth::sdk::Status;
  using CallCtx = berth::sdk::CallCtx;
  using FileInfo = berth::sdk::FileInfo;
  using Sink = berth::sdk::Sink;

  static Status Create(const berth::sdk::Host& host, std::string_view config,
                       std::unique_ptr<FsDriver>* out);

  Status GetContent(const CallCtx&, std::string_view path, Sink& out) override;
  Status PutContent(const CallCtx&, std::string_view path, std::string_view data) override;
  Status OpenReader(const CallCtx&, std::string_view path, int64_t offset,
                    std::unique_ptr<berth::sdk::StorageReader>* out) override;
  Status OpenWriter(const CallCtx&, std::string_view path, bool append,
                    std::unique_ptr<berth::sdk::StorageWriter>* out) override;
  Status Stat(const CallCtx&, std::string_view path, FileInfo* out) override;
  Status List(const CallCtx&, std::string_view path, std::vector<std::string>* out) override;
  Status Move(const CallCtx&, std::string_view src, std::string_view dst) override;
  Status Remove(const CallCtx&, std::string_view path) override;
  Status Walk(const CallCtx& call, std::string_view path, const WalkFn& fn) override;
  Status OpenFd(const CallCtx&, std::string_view path, int32_t* fd) override;

  const std::string& root() const { return root_; }

 protected:
  explicit FsDriver(std::string root) : root_(std::move(root)) {}
  // Prepares the root directory; parses {"root": ...}.
  static Status PrepareRoot(const berth::sdk::Host& host, std::string_view config,
                            std::string* root);

 private:
  Status Map(std::string_view path, std::string* out) const;
  std::string TempPath();
  Status WalkDir(const CallCtx& call, const std::string& path, const WalkFn& fn, bool* stop);

  std::string root_;
  std::atomic<uint64_t> counter_{0};

 protected:
  berth::sdk::Host host_;  // for log lines; empty in drivers built without Create
};

}  // namespace berth::storage_fs

#endif  // BERTH_PLUGINS_STORAGE_FS_FS_DRIVER_H_
