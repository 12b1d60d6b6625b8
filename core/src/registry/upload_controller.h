// UploadController: blob upload sessions (POST/PATCH/PUT/GET/DELETE on
// /v2/<name>/blobs/uploads/), resumable across restarts.
//
// Bytes go to the upload's storage path; the digest is verified before the
// blob becomes visible, and only then is it moved to its content address and
// linked to the repository. Hash state is kept in memory while an upload is
// written in order and recomputed from storage otherwise (after a restart, on
// another node, or for sha512).
#ifndef BERTH_REGISTRY_UPLOAD_CONTROLLER_H_
#define BERTH_REGISTRY_UPLOAD_CONTROLLER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "blob/blob_store.h"
#include "common/digest.h"
#include "store/registry_store.h"

namespace berth {

struct UploadStatus {
  std::string uuid;
  std::string repository;
  int64_t size = 0;  // bytes received so far
};

struct BlobRef {
  Digest digest;
  int64_t size = 0;
};

// An inclusive byte range from a Content-Range header.
struct ByteRange {
  int64_t start = 0;
  int64_t end = 0;
};

// Told when the store refused to link an uploaded blob (a quota refusal:
// kPermissionDenied), for QUOTA_EXCEED notifications.
using BlobRefusedFn =
    std::function<void(std::string_view repo, const std::string& digest, const Status& why)>;

class UploadController {
 public:
  UploadController(RegistryStore& store, BlobStore& blobs);

  void set_refusal_sink(BlobRefusedFn fn) { on_refused_ = std::move(fn); }

  StatusOr<UploadStatus> Start(std::string_view repo);
  StatusOr<UploadStatus> GetStatus(std::string_view repo, std::string_view uuid);
  // Appends a chunk. With `range`, its start must equal the current size
  // (else kRangeNotSatisfiable) and the body must be exactly its length.
  // `content_length` is -1 when unknown (chunked transfer).
  StatusOr<UploadStatus> Append(std::string_view repo, std::string_view uuid, std::istream& body,
                                std::optional<ByteRange> range, int64_t content_length);
  // Appends an optional final chunk, verifies the digest and commits.
  StatusOr<BlobRef> Complete(std::string_view repo, std::string_view uuid, const Digest& expected,
                             std::istream* body, std::optional<ByteRange> range,
                             int64_t content_length);
  // Monolithic upload (POST ?digest=).
  StatusOr<BlobRef> Monolithic(std::string_view repo, const Digest& expected, std::istream& body,
                               int64_t content_length);
  // Writes a blob whose bytes come from elsewhere (a proxy cache's upstream):
  // `produce` hands every chunk to the sink it is given, in order. The digest
  // is verified before the blob becomes visible; when `produce` or the sink
  // fails (the upstream broke off, the client went away), nothing stays.
  using ChunkSink = std::function<Status(const char* data, size_t len)>;
  StatusOr<BlobRef> Import(std::string_view repo, const Digest& expected,
                           const std::function<Status(const ChunkSink&)>& produce);
  Status Cancel(std::string_view repo, std::string_view uuid);
  // Removes uploads started before the cutoff (abandoned by their clients).
  StatusOr<int> PurgeStale(int64_t started_before_unix_millis);

  int64_t in_flight() const { return in_flight_.load(); }

 private:
  struct State {
    std::mutex mu;
    std::unique_ptr<Hasher> sha256;  // valid while hashed == bytes written
    int64_t hashed = 0;
  };
  std::shared_ptr<State> StateFor(const std::string& uuid);
  void DropState(const std::string& uuid);
  StatusOr<UploadRecord> Lookup(std::string_view repo, std::string_view uuid);
  // Appends body bytes to the upload; the caller holds st.mu.
  StatusOr<int64_t> AppendLocked(const std::string& uuid, State& st, std::istream& body,
                                 std::optional<ByteRange> range, int64_t content_length,
                                 bool commit);
  StatusOr<Digest> DigestOf(const std::string& uuid, State& st, DigestAlgorithm alg, int64_t size);
  Status Discard(const std::string& uuid);

  RegistryStore& store_;
  BlobStore& blobs_;
  BlobRefusedFn on_refused_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<State>> states_;
  std::atomic<int64_t> in_flight_{0};
};

// True for the upload ids this server hands out (lowercase UUIDs).
bool IsValidUploadId(std::string_view uuid);

}  // namespace berth

#endif  // BERTH_REGISTRY_UPLOAD_CONTROLLER_H_
