// StorageDriver: what berthd needs from a storage backend (paths and bytes).
//
// The OCI layout lives above this interface (blob/layout.h); implementations
// come from storage plugins through plugin/plugin_storage_driver.h.
#ifndef BERTH_BLOB_STORAGE_DRIVER_H_
#define BERTH_BLOB_STORAGE_DRIVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/call_context.h"
#include "common/status.h"

namespace berth {

struct FileInfo {
  int64_t size = 0;
  int64_t mtime_unix_ns = 0;
  bool is_dir = false;
};

class StorageReader {
 public:
  virtual ~StorageReader() = default;
  // Returns the number of bytes read; 0 at the end.
  virtual StatusOr<size_t> Read(void* buf, size_t cap) = 0;
};

// Exactly one of Commit, Cancel or Close ends a writer; destroying a writer
// that was not ended closes it (what was written stays, uncommitted).
class StorageWriter {
 public:
  virtual ~StorageWriter() = default;
  virtual Status Write(const void* data, size_t len) = 0;
  // Bytes written so far; -1 when the driver could not tell (logged).
  virtual int64_t Size() const = 0;
  virtual Status Commit() = 0;
  virtual Status Cancel() = 0;
  virtual Status Close() = 0;
};

enum class WalkAction { kContinue, kSkipDir, kStop };

// Thread-safe: every method may be called concurrently.
//
// Every operation takes the CallContext of the work it is done for (request
// id, deadline, cancellation), which reaches the plugin as its
// berth_call_ctx. Readers and writers keep the context they were opened
// under for all their calls. The overloads without a context use the
// thread's CallContext::Current() (the request or job the thread serves).
class StorageDriver {
 public:
  using WalkFn = std::function<WalkAction(const std::string& path, const FileInfo& info)>;
  virtual ~StorageDriver() = default;
  virtual std::string name() const = 0;
  // Reads a whole object; fails with kTooLarge when it exceeds max_size (0 = no limit).
  virtual Status GetContent(const CallContext& ctx, std::string_view path, std::string* out,
                            size_t max_size = 0) = 0;
  virtual Status PutContent(const CallContext& ctx, std::string_view path,
                            std::string_view data) = 0;
  virtual StatusOr<std::unique_ptr<StorageReader>> OpenReader(const CallContext& ctx,
                                                              std::string_view path,
                                                              int64_t offset) = 0;
  virtual StatusOr<std::unique_ptr<StorageWriter>> OpenWriter(const CallContext& ctx,
                                                              std::string_view path,
                                                              bool append) = 0;
  virtual StatusOr<FileInfo> Stat(const CallContext& ctx, std::string_view path) = 0;
  virtual StatusOr<std::vector<std::string>> List(const CallContext& ctx,
                                                  std::string_view path) = 0;
  virtual Status Move(const CallContext& ctx, std::string_view src, std::string_view dst) = 0;
  virtual Status Remove(const CallContext& ctx, std::string_view path) = 0;
  // The callback must not call back into the same driver: a SERIALIZED
  // plugin is locked for the whole walk.
  virtual Status Walk(const CallContext& ctx, std::string_view path, const WalkFn& fn) = 0;
  // kUnsupported when the driver cannot redirect.
  virtual StatusOr<std::string> RedirectUrl(const CallContext& ctx, std::string_view method,
                                            std::string_view path, int64_t ttl_seconds) = 0;
  // A read-only descriptor the caller owns, for sendfile(2); kUnsupported when
  // the driver has no local files.
  virtual StatusOr<int> OpenFd(const CallContext& ctx, std::string_view path) = 0;
  virtual bool CanOpenFd() const = 0;

  // The same under CallContext::Current().
  Status GetContent(std::string_view path, std::string* out, size_t max_size = 0) {
    return GetContent(CallContext::Current(), path, out, max_size);
  }
  Status PutContent(std::string_view path, std::string_view data) {
    return PutContent(CallContext::Current(), path, data);
  }
  StatusOr<std::unique_ptr<StorageReader>> OpenReader(std::string_view path, int64_t offset) {
    return OpenReader(CallContext::Current(), path, offset);
  }
  StatusOr<std::unique_ptr<StorageWriter>> OpenWriter(std::string_view path, bool append) {
    return OpenWriter(CallContext::Current(), path, append);
  }
  StatusOr<FileInfo> Stat(std::string_view path) { return Stat(CallContext::Current(), path); }
  StatusOr<std::vector<std::string>> List(std::string_view path) {
    return List(CallContext::Current(), path);
  }
  Status Move(std::string_view src, std::string_view dst) {
    return Move(CallContext::Current(), src, dst);
  }
  Status Remove(std::string_view path) { return Remove(CallContext::Current(), path); }
  Status Walk(std::string_view path, const WalkFn& fn) {
    return Walk(CallContext::Current(), path, fn);
  }
  StatusOr<std::string> RedirectUrl(std::string_view method, std::string_view path,
                                    int64_t ttl_seconds) {
    return RedirectUrl(CallContext::Current(), method, path, ttl_seconds);
  }
  StatusOr<int> OpenFd(std::string_view path) { return OpenFd(CallContext::Current(), path); }
};

// Lets a class derived from StorageDriver keep the context-free overloads
// visible next to its overrides.
#define BERTH_STORAGE_DRIVER_CONVENIENCE      \
  using StorageDriver::GetContent;            \
  using StorageDriver::PutContent;            \
  using StorageDriver::OpenReader;            \
  using StorageDriver::OpenWriter;            \
  using StorageDriver::Stat;                  \
  using StorageDriver::List;                  \
  using StorageDriver::Move;                  \
  using StorageDriver::Remove;                \
  using StorageDriver::Walk;                  \
  using StorageDriver::RedirectUrl;           \
  using StorageDriver::OpenFd

// The path grammar every driver call must satisfy: ^(/[A-Za-z0-9._-]+)+$ or
// "/", with no "." or ".." component.
bool IsValidStoragePath(std::string_view path);

}  // namespace berth

#endif  // BERTH_BLOB_STORAGE_DRIVER_H_
