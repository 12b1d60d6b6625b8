// BlobController: blob reads, deletes and cross-repository mounts, scoped to
// the repositories a blob is linked into.
#ifndef BERTH_REGISTRY_BLOB_CONTROLLER_H_
#define BERTH_REGISTRY_BLOB_CONTROLLER_H_

#include <memory>
#include <string_view>

#include "blob/blob_store.h"
#include "registry/upload_controller.h"
#include "store/registry_store.h"

namespace berth {

// An open blob: a file descriptor when the driver has one (zero-copy);
// otherwise the caller reads with OpenReader once it knows the offset.
struct BlobSource {
  int64_t size = 0;
  int fd = -1;  // owned by the caller when >= 0
  // Set when the driver redirects reads (storage-s3 with redirect: true):
  // the client is sent there with a 307 instead of reading through berthd.
  std::string redirect_url;
};

class BlobController {
 public:
  BlobController(RegistryStore& store, BlobStore& blobs) : store_(store), blobs_(blobs) {}

  // BLOB_UNKNOWN unless the blob is linked into the repository and stored.
  StatusOr<int64_t> Stat(std::string_view repo, const Digest& d);
  // Checks the blob is in the repository (one metadata lookup) and opens its
  // file descriptor when the driver has local files.
  StatusOr<BlobSource> Open(std::string_view repo, const Digest& d);
  // A reader from `offset`, for drivers without file descriptors.
  StatusOr<std::unique_ptr<StorageReader>> OpenReader(const Digest& d, int64_t offset);
  Status Delete(std::string_view repo, const Digest& d);
  // Links a blob of `from` into `repo`. Returns false (and changes nothing)
  // when `from` does not hold the blob.
  StatusOr<bool> Mount(std::string_view repo, const Digest& d, std::string_view from);

 private:
  RegistryStore& store_;
  BlobStore& blobs_;
};

}  // namespace berth

#endif  // BERTH_REGISTRY_BLOB_CONTROLLER_H_
