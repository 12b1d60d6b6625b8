// MemoryStorageDriver: a StorageDriver that keeps its objects in memory, with
// fault injection, for in-process tests of BlobStore and the registry
// controllers.
//
// It lives with the tests rather than in core/src/blob: a production
// "memory" driver would lose every blob on restart, which contradicts the
// resumable uploads and crash-safety the registry promises, and the fault
// hooks are test machinery. It follows storage-fs's semantics (the reference
// driver): directories exist implicitly above objects, Move replaces the
// destination, Remove takes a whole tree, bytes a writer wrote stay when it
// is closed and go when it is cancelled, and every path must satisfy
// IsValidStoragePath.
#ifndef BERTH_TESTS_UNIT_SUPPORT_MEMORY_STORAGE_DRIVER_H_
#define BERTH_TESTS_UNIT_SUPPORT_MEMORY_STORAGE_DRIVER_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blob/storage_driver.h"

namespace berth::testing_support {

// The driver operations a fault can be injected into.
enum class StorageOp {
  kGetContent,
  kPutContent,
  kOpenReader,
  kOpenWriter,
  kWrite,   // StorageWriter::Write
  kCommit,  // StorageWriter::Commit
  kClose,   // StorageWriter::Close
  kStat,
  kMove,
  kRemove,
};

class MemoryStorageDriver : public StorageDriver {
 public:
  MemoryStorageDriver() = default;

  // ---- Fault injection ----------------------------------------------------------
  // The nth call of `op` from now on (1 = the next one) fails with `error`;
  // the call has no effect (a failed Write writes nothing).
  void FailNth(StorageOp op, int n, Status error = Status::IOError("injected storage fault"));
  // Writers fail once `bytes` more bytes have been written through them: the
  // Write that crosses the limit stores the bytes up to it and fails (a disk
  // filling up). Later writes fail too until ClearFaults().
  void FailWritesAfter(int64_t bytes, Status error = Status::IOError("injected: no space left"));
  void ClearFaults();
  // How many times `op` was called (failed calls included).
  int Calls(StorageOp op) const;

  // ---- Inspection -----------------------------------------------------------------
  // The object's bytes; nullopt when there is no object at `path`.
  std::optional<std::string> Object(std::string_view path) const;
  // Every object path, sorted.
  std::vector<std::string> Paths() const;

  // ---- StorageDriver --------------------------------------------------------------
  BERTH_STORAGE_DRIVER_CONVENIENCE;
  std::string name() const override { return "memory"; }
  Status GetContent(const CallContext& ctx, std::string_view path, std::string* out, size_t max_size = 0) override;
  Status PutContent(const CallContext& ctx, std::string_view path, std::string_view data) override;
  StatusOr<std::unique_ptr<StorageReader>> OpenReader(const CallContext& ctx, std::string_view path,
                                                      int64_t offset) override;
  StatusOr<std::unique_ptr<StorageWriter>> OpenWriter(const CallContext& ctx, std::string_view path, bool append) override;
  StatusOr<FileInfo> Stat(const CallContext& ctx, std::string_view path) override;
  StatusOr<std::vector<std::string>> List(const CallContext& ctx, std::string_view path) override;
  Status Move(const CallContext& ctx, std::string_view src, std::string_view dst) override;
  Status Remove(const CallContext& ctx, std::string_view path) override;
  Status Walk(const CallContext& ctx, std::string_view path, const WalkFn& fn) override;
  StatusOr<std::string> RedirectUrl(const CallContext& ctx, std::string_view method, std::string_view path,
                                    int64_t ttl_seconds) override;
  StatusOr<int> OpenFd(const CallContext& ctx, std::string_view path) override;
  bool CanOpenFd() const override { return false; }

 private:
  friend class MemoryWriter;
  friend class MemoryReader;
  struct Object_ {
    std::string data;
    int64_t mtime_ns = 0;
  };
  // Counts the call; the injected error when this call is to fail. Caller holds mu_.
  Status Enter(StorageOp op);
  bool IsDirLocked(const std::string& path) const;
  // Appends for a writer, honouring FailWritesAfter. Caller holds mu_.
  Status AppendLocked(const std::string& path, const void* data, size_t len);

  mutable std::mutex mu_;
  std::map<std::string, Object_> objects_;
  std::map<StorageOp, int> calls_;
  std::map<StorageOp, std::vector<std::pair<int, Status>>> faults_;  // absolute call number
  std::optional<int64_t> write_budget_;
  Status write_budget_error_;
};

}  // namespace berth::testing_support

#endif  // BERTH_TESTS_UNIT_SUPPORT_MEMORY_STORAGE_DRIVER_H_
