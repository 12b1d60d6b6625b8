// BlobStore: content-addressed objects and upload byte streams on a
// StorageDriver. Knows nothing of repositories or the metadata store.
#ifndef BERTH_BLOB_BLOB_STORE_H_
#define BERTH_BLOB_BLOB_STORE_H_

#include <memory>
#include <string>

#include "blob/storage_driver.h"
#include "common/digest.h"

namespace berth {

class BlobStore {
 public:
  explicit BlobStore(StorageDriver& driver) : driver_(driver) {}

  StorageDriver& driver() { return driver_; }

  // kNotFound when the blob is not stored.
  StatusOr<FileInfo> Stat(const Digest& d);
  StatusOr<std::unique_ptr<StorageReader>> OpenReader(const Digest& d, int64_t offset);
  // kUnsupported when the driver has no local files.
  StatusOr<int> OpenFd(const Digest& d);
  bool CanOpenFd() const { return driver_.CanOpenFd(); }
  // A URL the client may GET the blob from directly (a presigned S3 URL);
  // kUnsupported when the driver does not redirect.
  StatusOr<std::string> RedirectUrl(const Digest& d, int64_t ttl_seconds);
  Status GetContent(const Digest& d, std::string* out, size_t max_size);
  // Stores bytes whose digest the caller computed; a no-op when present.
  Status PutContent(const Digest& d, std::string_view data);
  // OK when the blob's bytes are stored; else the protocol error `api_code`
  // (kNotFound: garbage collection removed them while a push was linking
  // them; final, so no transaction retries it).
  Status CheckPresent(const Digest& d, const char* api_code = "BLOB_UNKNOWN");

  // Upload streams.
  Status CreateUpload(std::string_view uuid);
  StatusOr<int64_t> UploadSize(std::string_view uuid);
  StatusOr<std::unique_ptr<StorageWriter>> AppendToUpload(std::string_view uuid);
  StatusOr<std::unique_ptr<StorageReader>> ReadUpload(std::string_view uuid, int64_t offset);
  // Moves the upload's bytes to the blob's path (or drops them when the blob
  // already exists), then removes the upload.
  Status CommitUpload(std::string_view uuid, const Digest& d);
  Status DeleteUpload(std::string_view uuid);

 private:
  StorageDriver& driver_;
};

}  // namespace berth

#endif  // BERTH_BLOB_BLOB_STORE_H_
