#include "registry/blob_controller.h"

#include <unistd.h>

namespace berth {

namespace {
Status BlobUnknown(const Digest& d) {
  return Status::NotFound("blob " + d.ToString() + " unknown to registry", "BLOB_UNKNOWN");
}
}  // namespace

StatusOr<int64_t> BlobController::Stat(std::string_view repo, const Digest& d) {
  BERTH_ASSIGN_OR_RETURN(auto size, store_.GetLinkedBlobSize(repo, d.ToString()));
  if (!size) return BlobUnknown(d);
  return *size;
}

StatusOr<BlobSource> BlobController::Open(std::string_view repo, const Digest& d) {
  BERTH_ASSIGN_OR_RETURN(int64_t size, Stat(repo, d));
  BlobSource src;
  src.size = size;
  // Presigned URLs live 20 minutes, as distribution's S3 middleware makes them.
  auto url = blobs_.RedirectUrl(d, 1200);
  if (url.ok()) {
    src.redirect_url = std::move(*url);
    return src;
  }
  if (url.status().code() != Code::kUnsupported) return url.status();
  if (blobs_.CanOpenFd()) {
    auto fd = blobs_.OpenFd(d);
    if (fd.status().IsNotFound()) return BlobUnknown(d);
    if (!fd.ok()) return fd.status();
    src.fd = *fd;
  }
  return src;
}

StatusOr<std::unique_ptr<StorageReader>> BlobController::OpenReader(const Digest& d,
                                                                  int64_t offset) {
  auto reader = blobs_.OpenReader(d, offset);
  if (!reader.ok() && reader.status().IsNotFound()) return BlobUnknown(d);
  return reader;
}

Status BlobController::Delete(std::string_view repo, const Digest& d) {
  Status s = store_.UnlinkBlob(repo, d.ToString());
  if (s.IsNotFound()) return BlobUnknown(d);
  return s;
}

StatusOr<bool> BlobController::Mount(std::string_view repo, const Digest& d,
                                     std::string_view from) {
  BERTH_ASSIGN_OR_RETURN(auto size, store_.GetLinkedBlobSize(from, d.ToString()));
  if (!size) return false;
  auto fi = blobs_.Stat(d);
  if (!fi.ok()) return false;
  BERTH_RETURN_IF_ERROR(
      store_.LinkBlob(repo, d.ToString(), *size, nullptr, [&] { return blobs_.CheckPresent(d); }));
  return true;
}

}  // namespace berth
