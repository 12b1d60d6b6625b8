// S3Driver: the storage driver behind the storage-s3 plugin, for any
// S3-compatible service (AWS S3, Ceph radosgw, MinIO...).
//
// A path /a/b is the object <root_prefix>a/b; "directories" are key prefixes.
// Writers are multipart uploads: parts of chunk_size bytes go up as they
// fill, the rest waits in memory. writer_close saves the unfinished upload in
// a sidecar object <root_prefix>~uploads/a/b (its state as one JSON line, then
// the bytes not yet uploaded) and leaves a zero-byte placeholder at the path
// whose x-amz-meta-berth-upload-size says how much was written, so stat
// reports the upload's size; a later writer_open(append) resumes from the
// sidecar. '~' never occurs in a Berth path, so sidecars never show in list or
// walk.
#ifndef BERTH_PLUGINS_STORAGE_S3_S3_DRIVER_H_
#define BERTH_PLUGINS_STORAGE_S3_S3_DRIVER_H_

#include <berth/plugin_sdk.hpp>

#include <memory>
#include <string>
#include <vector>

#include "s3_client.h"

namespace berth::storage_s3 {

extern const char kConfigSchema[];

struct S3Options {
  std::string root_prefix;  // "" or "prefix/"
  int64_t chunk_size = 16 << 20;
  bool redirect = false;
  int64_t presign_ttl = 1200;
  int64_t copy_part_threshold = int64_t{5} << 30;  // CopyObject's limit
  int64_t copy_part_size = int64_t{1} << 30;
};

class S3Driver : public berth::sdk::StorageDriver {
 public:
  using CallCtx = berth::sdk::CallCtx;
  using FileInfo = berth::sdk::FileInfo;
  using Sink = berth::sdk::Sink;

  static Status Create(const berth::sdk::Host& host, std::string_view config,
                       std::unique_ptr<S3Driver>* out);

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
  Status RedirectUrl(const CallCtx&, std::string_view method, std::string_view path,
                     int64_t ttl_seconds, std::string* url) override;

  // Used by the reader and writer.
  S3Client& client() { return *client_; }
  const S3Options& options() const { return opt_; }
  std::string Key(std::string_view path) const;
  std::string SidecarKey(std::string_view path) const;
  Status Error(const std::string& op, const std::string& key, const S3Response& r) const;
  // Logs (tagged by the host with the request id) and returns BERTH_E_CANCELLED.
  Status Cancelled(const char* op, const std::string& key) const {
    host_.Log(BERTH_LOG_INFO, std::string("storage-s3: ") + op + " of " + key + " cancelled");
    return Status::Cancelled(std::string("storage-s3: ") + op + " of " + key + " cancelled");
  }
  Status DeleteKeys(const std::vector<std::string>& keys);
  Status AbortUpload(const std::string& key, const std::string& upload_id);

 private:
  S3Driver(berth::sdk::Host host, std::unique_ptr<S3Client> client, S3Options opt)
      : host_(host), client_(std::move(client)), opt_(std::move(opt)) {}

  struct Object {
    std::string key;
    int64_t size = 0;
    int64_t mtime_ns = 0;
  };
  // Every object under `prefix` (or, with a delimiter, the objects and common
  // prefixes directly under it).
  Status ListKeys(const std::string& prefix, bool delimited, std::vector<Object>* objects,
                  std::vector<std::string>* prefixes, int max_keys = 0);
  Status CopyObject(const std::string& src, const std::string& dst, int64_t size);
  Status RemoveSidecars(std::string_view path);

  berth::sdk::Host host_;
  std::unique_ptr<S3Client> client_;
  S3Options opt_;
};

}  // namespace berth::storage_s3

#endif  // BERTH_PLUGINS_STORAGE_S3_S3_DRIVER_H_
