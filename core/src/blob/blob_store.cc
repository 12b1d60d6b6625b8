#include "blob/blob_store.h"

#include "blob/layout.h"

namespace berth {

StatusOr<FileInfo> BlobStore::Stat(const Digest& d) {
  auto fi = driver_.Stat(layout::BlobDataPath(d));
  if (fi.ok() && fi->is_dir) return Status::NotFound("blob is a directory");
  return fi;
}

StatusOr<std::unique_ptr<StorageReader>> BlobStore::OpenReader(const Digest& d, int64_t offset) {
  return driver_.OpenReader(layout::BlobDataPath(d), offset);
}

StatusOr<int> BlobStore::OpenFd(const Digest& d) { return driver_.OpenFd(layout::BlobDataPath(d)); }

StatusOr<std::string> BlobStore::RedirectUrl(const Digest& d, int64_t ttl_seconds) {
  return driver_.RedirectUrl("GET", layout::BlobDataPath(d), ttl_seconds);
}

Status BlobStore::GetContent(const Digest& d, std::string* out, size_t max_size) {
  return driver_.GetContent(layout::BlobDataPath(d), out, max_size);
}

Status BlobStore::PutContent(const Digest& d, std::string_view data) {
  std::string path = layout::BlobDataPath(d);
  auto fi = driver_.Stat(path);
  if (fi.ok() && !fi->is_dir && fi->size == static_cast<int64_t>(data.size())) return {};
  return driver_.PutContent(path, data);
}

Status BlobStore::CreateUpload(std::string_view uuid) {
  return driver_.PutContent(layout::UploadDataPath(uuid), "");
}

StatusOr<int64_t> BlobStore::UploadSize(std::string_view uuid) {
  auto fi = driver_.Stat(layout::UploadDataPath(uuid));
  if (!fi.ok()) return fi.status();
  return fi->size;
}

StatusOr<std::unique_ptr<StorageWriter>> BlobStore::AppendToUpload(std::string_view uuid) {
  return driver_.OpenWriter(layout::UploadDataPath(uuid), true);
}

StatusOr<std::unique_ptr<StorageReader>> BlobStore::ReadUpload(std::string_view uuid,
                                                               int64_t offset) {
  return driver_.OpenReader(layout::UploadDataPath(uuid), offset);
}

Status BlobStore::CommitUpload(std::string_view uuid, const Digest& d) {
  std::string dst = layout::BlobDataPath(d);
  auto existing = driver_.Stat(dst);
  if (!existing.ok() || existing->is_dir) {
    BERTH_RETURN_IF_ERROR(driver_.Move(layout::UploadDataPath(uuid), dst));
  }
  Status s = driver_.Remove(layout::UploadDir(uuid));
  return s.IsNotFound() ? Status() : s;
}

Status BlobStore::DeleteUpload(std::string_view uuid) {
  Status s = driver_.Remove(layout::UploadDir(uuid));
  return s.IsNotFound() ? Status() : s;
}

Status BlobStore::CheckPresent(const Digest& d, const char* api_code) {
  auto fi = Stat(d);
  if (fi.ok()) return {};
  if (!fi.status().IsNotFound()) return fi.status();
  return Status(Code::kNotFound,
                "blob " + d.ToString() +
                    " was removed by garbage collection while it was being linked; push it again",
                api_code);
}

}  // namespace berth
