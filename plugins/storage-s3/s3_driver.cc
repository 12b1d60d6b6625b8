#include "s3_driver.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <ctime>
#include <future>
#include <map>
#include <nlohmann/json.hpp>

namespace berth::storage_s3 {
namespace {

using berth::sdk::CallCtx;
using berth::sdk::FileInfo;
using berth::sdk::Host;
using berth::sdk::Sink;

constexpr int64_t kMinPart = int64_t{5} << 20;  // S3's smallest part but the last
constexpr char kSizeMeta[] = "x-amz-meta-berth-upload-size";

bool ValidComponent(std::string_view c) {
  if (c.empty() || c == "." || c == "..") return false;
  for (char ch : c) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

// Berth's path rule, checked again here whatever the host did.
bool ValidPath(std::string_view p, bool allow_root) {
  if (p == "/") return allow_root;
  if (p.size() < 2 || p[0] != '/') return false;
  size_t i = 1;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (!ValidComponent(p.substr(i, j - i))) return false;
    i = j + 1;
  }
  return true;
}

Status BadPath(std::string_view p) {
  return Status::InvalidArgument("invalid path: " + std::string(p));
}

int64_t Remaining(const CallCtx& call) {
  int64_t deadline = call.deadline_unix_ns();
  if (deadline <= 0) return 0;
  int64_t now = static_cast<int64_t>(std::time(nullptr)) * 1000000000LL;
  int64_t ms = (deadline - now) / 1000000;
  return ms < 1000 ? 1000 : ms;
}

int64_t ParseInt(const std::string& s, int64_t fallback = -1) {
  if (s.empty()) return fallback;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  return (end != nullptr && *end == '\0') ? static_cast<int64_t>(v) : fallback;
}

// Total size from "Content-Range: bytes a-b/total".
int64_t RangeTotal(const std::string& cr) {
  size_t slash = cr.rfind('/');
  return slash == std::string::npos ? -1 : ParseInt(cr.substr(slash + 1));
}

// ---- Reader: ranged GETs in growing windows, one window fetched ahead -------------------

class S3Reader : public berth::sdk::StorageReader {
 public:
  S3Reader(S3Driver* d, std::string key, int64_t pos) : d_(d), key_(std::move(key)), pos_(pos) {}
  ~S3Reader() override {
    if (next_.valid()) next_.wait();  // the prefetch uses this reader's fields
  }

  // Fetches the first window; maps a missing object and a bad offset.
  Status Open() {
    Status s = Take(FetchRange(pos_, window_));
    if (s.code() != BERTH_E_INVALID_OFFSET) {
      if (s.ok()) Prefetch();
      return s;
    }
    // 416: the offset is at or past the end (or the object is empty).
    S3Request head;
    head.method = "HEAD";
    head.key = key_;
    S3Response r;
    if (Status hs = d_->client().Do(head, &r); !hs.ok()) return hs;
    if (r.status == 404) return Status::NotFound("storage-s3: no object " + key_);
    if (r.status != 200) return d_->Error("HEAD", key_, r);
    int64_t size = ParseInt(r.Header("content-length"), 0);
    if (pos_ == size) {
      size_ = size;
      return {};
    }
    return Status::InvalidOffset("offset " + std::to_string(pos_) + " is beyond the end of " +
                                 key_ + " (" + std::to_string(size) + " bytes)");
  }

  Status Read(const CallCtx& call, void* buf, size_t cap, size_t* n) override {
    *n = 0;
    if (off_ >= buf_.size()) {
      if (size_ >= 0 && pos_ >= size_) return {};
      // Between windows: a request that was given up fetches no more.
      if (call.cancelled()) return d_->Cancelled("read", key_);
      Status s = next_.valid() ? Take(next_.get()) : Take(FetchRange(pos_, window_));
      if (!s.ok()) return s;
      Prefetch();
      if (off_ >= buf_.size()) return {};
    }
    size_t k = std::min(cap, buf_.size() - off_);
    std::memcpy(buf, buf_.data() + off_, k);
    off_ += k;
    *n = k;
    return {};
  }

 private:
  struct Window {
    Status status;
    S3Response resp;
  };

  Window FetchRange(int64_t pos, int64_t len) const {
    Window w;
    S3Request req;
    req.key = key_;
    req.headers.emplace_back("Range", "bytes=" + std::to_string(pos) + "-" +
                                          std::to_string(pos + len - 1));
    w.status = d_->client().Do(req, &w.resp);
    return w;
  }

  // While the caller consumes this window, the next one is on its way: a
  // proxied blob GET then streams at the speed of S3, not half of it.
  void Prefetch() {
    if (size_ < 0 || pos_ >= size_) return;
    next_ = std::async(std::launch::async, [this, pos = pos_, len = window_] {
      return FetchRange(pos, len);
    });
  }

  Status Take(Window w) {
    buf_.clear();
    off_ = 0;
    if (!w.status.ok()) return w.status;
    S3Response& r = w.resp;
    if (r.status == 416) return Status::InvalidOffset("range not satisfiable");
    if (r.status == 206) {
      buf_ = std::move(r.body);
      int64_t total = RangeTotal(r.Header("content-range"));
      if (total >= 0) size_ = total;
    } else if (r.status == 200) {  // the server ignored Range: the whole object
      size_ = static_cast<int64_t>(r.body.size());
      if (pos_ > size_) return Status::InvalidOffset("offset beyond the end of " + key_);
      buf_ = r.body.substr(static_cast<size_t>(pos_));
    } else {
      return d_->Error("GET", key_, r);
    }
    pos_ += static_cast<int64_t>(buf_.size());
    window_ = std::min<int64_t>(window_ * 2, kMaxWindow);
    return {};
  }

  static constexpr int64_t kMaxWindow = 16 << 20;
  S3Driver* d_;
  std::string key_;
  int64_t pos_;
  int64_t size_ = -1;
  int64_t window_ = 256 << 10;
  std::string buf_;
  size_t off_ = 0;
  std::future<Window> next_;
};

// ---- Writer: a multipart upload, resumable through its sidecar ------------------------

struct Part {
  int number;
  std::string etag;
  int64_t size;
};

class S3Writer : public berth::sdk::StorageWriter {
 public:
  S3Writer(S3Driver* d, std::string path) : d_(d), path_(std::move(path)) {
    key_ = d_->Key(path_);
    sidecar_ = d_->SidecarKey(path_);
  }

  // Loads an unfinished upload (append) or discards it (a fresh writer).
  Status Open(bool append) {
    S3Request get;
    get.key = sidecar_;
    S3Response r;
    if (Status s = d_->client().Do(get, &r); !s.ok()) return s;
    if (r.status == 200) {
      size_t nl = r.body.find('\n');
      nlohmann::json st = nlohmann::json::parse(r.body.substr(0, nl), nullptr, false);
      if (nl == std::string::npos || st.is_discarded() || !st.is_object()) {
        return Status::Internal("storage-s3: unreadable upload state in " + sidecar_);
      }
      std::string upload_id = st.value("upload_id", "");
      if (!append) {
        if (!upload_id.empty()) d_->AbortUpload(key_, upload_id);
        had_sidecar_ = true;  // overwritten or deleted when this writer ends
        return {};
      }
      upload_id_ = upload_id;
      for (const auto& p : st.value("parts", nlohmann::json::array())) {
        parts_.push_back({p.at(0).get<int>(), p.at(1).get<std::string>(), p.at(2).get<int64_t>()});
      }
      buf_ = r.body.substr(nl + 1);
      size_ = st.value("size", int64_t{0});
      int64_t in_parts = 0;
      for (const auto& p : parts_) in_parts += p.size;
      if (in_parts + static_cast<int64_t>(buf_.size()) != size_) {
        return Status::Internal("storage-s3: upload state in " + sidecar_ + " is inconsistent");
      }
      had_sidecar_ = true;
      return {};
    }
    if (r.status != 404) return d_->Error("GET", sidecar_, r);
    if (!append) return {};
    // No unfinished upload: continue a committed object, if there is one.
    S3Request head;
    head.method = "HEAD";
    head.key = key_;
    if (Status s = d_->client().Do(head, &r); !s.ok()) return s;
    if (r.status == 404) return {};
    if (r.status != 200) return d_->Error("HEAD", key_, r);
    int64_t size = ParseInt(r.Header("content-length"), 0);
    if (!r.Header(kSizeMeta).empty()) return {};  // a placeholder whose sidecar is gone
    if (size < d_->options().chunk_size) {
      S3Request g;
      g.key = key_;
      if (Status s = d_->client().Do(g, &r); !s.ok()) return s;
      if (r.status != 200) return d_->Error("GET", key_, r);
      buf_ = std::move(r.body);
      size_ = static_cast<int64_t>(buf_.size());
      return {};
    }
    // Large: the committed object becomes the first part, copied server-side.
    if (Status s = Initiate(); !s.ok()) return s;
    S3Request cp;
    cp.method = "PUT";
    cp.key = key_;
    cp.query = {{"partNumber", "1"}, {"uploadId", upload_id_}};
    cp.headers.emplace_back("x-amz-copy-source",
                            "/" + d_->client().endpoint().bucket + "/" + UriEncode(key_, true));
    if (Status s = d_->client().Do(cp, &r); !s.ok()) return s;
    if (r.status != 200 || r.body.find("<Error>") != std::string::npos) {
      return d_->Error("UploadPartCopy", key_, r);
    }
    parts_.push_back({1, XmlFirst(r.body, "ETag"), size});
    size_ = size;
    return {};
  }

  Status Write(const CallCtx& call, const void* data, size_t len) override {
    if (done_) return Status::Conflict("storage-s3: the writer of " + path_ + " has ended");
    if (call.cancelled()) return d_->Cancelled("write", key_);
    buf_.append(static_cast<const char*>(data), len);
    size_ += static_cast<int64_t>(len);
    if (len > 0) dirty_ = true;
    const size_t chunk = static_cast<size_t>(d_->options().chunk_size);
    if (buf_.size() >= chunk) {
      size_t off = 0;
      while (buf_.size() - off >= chunk) {
        if (Status s = UploadPart(std::string_view(buf_).substr(off, chunk)); !s.ok()) {
          buf_.erase(0, off);
          return s;  // what was written stays written; the caller decides
        }
        off += chunk;
      }
      buf_.erase(0, off);
    }
    return {};
  }

  Status Size(const CallCtx&, int64_t* out) const override {
    *out = size_;
    return {};
  }

  Status Commit(const CallCtx& call) override {
    if (done_) return Status::Conflict("storage-s3: the writer of " + path_ + " has ended");
    // Not completed for a request that was given up: kept as after Close.
    if (call.cancelled()) {
      (void)Close(call);
      return d_->Cancelled("commit", key_);
    }
    done_ = true;
    S3Response r;
    if (upload_id_.empty()) {
      S3Request put;
      put.method = "PUT";
      put.key = key_;
      put.body = buf_;
      if (Status s = d_->client().Do(put, &r); !s.ok()) return s;
      if (r.status != 200) return d_->Error("PUT", key_, r);
    } else {
      if (!buf_.empty()) {
        if (Status s = UploadPart(buf_); !s.ok()) return s;
      }
      std::string xml = "<CompleteMultipartUpload>";
      for (const auto& p : parts_) {
        xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" +
               XmlEscape(p.etag) + "</ETag></Part>";
      }
      xml += "</CompleteMultipartUpload>";
      S3Request post;
      post.method = "POST";
      post.key = key_;
      post.query = {{"uploadId", upload_id_}};
      post.headers.emplace_back("Content-Type", "application/xml");
      post.body = xml;
      if (Status s = d_->client().Do(post, &r); !s.ok()) return s;
      // CompleteMultipartUpload may answer 200 with an <Error> body.
      if (r.status != 200 || r.body.find("<Error>") != std::string::npos) {
        return d_->Error("CompleteMultipartUpload", key_, r);
      }
    }
    if (had_sidecar_) return d_->DeleteKeys({sidecar_});
    return {};
  }

  Status Cancel(const CallCtx&) override {
    if (done_) return Status::Conflict("storage-s3: the writer of " + path_ + " has ended");
    done_ = true;
    if (!upload_id_.empty()) d_->AbortUpload(key_, upload_id_);
    return d_->DeleteKeys({sidecar_, key_});
  }

  Status Close(const CallCtx&) override {
    if (done_) return Status::Conflict("storage-s3: the writer of " + path_ + " has ended");
    done_ = true;
    if (had_sidecar_ && !dirty_) return {};
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : parts_) parts.push_back({p.number, p.etag, p.size});
    nlohmann::json st = {{"upload_id", upload_id_}, {"parts", parts}, {"size", size_}};
    std::string body = st.dump() + "\n" + buf_;
    S3Response r;
    S3Request put;
    put.method = "PUT";
    put.key = sidecar_;
    put.body = body;
    if (Status s = d_->client().Do(put, &r); !s.ok()) return s;
    if (r.status != 200) return d_->Error("PUT", sidecar_, r);
    // The placeholder: stat reports the upload's size, as a file would.
    S3Request mark;
    mark.method = "PUT";
    mark.key = key_;
    mark.headers.emplace_back(kSizeMeta, std::to_string(size_));
    if (Status s = d_->client().Do(mark, &r); !s.ok()) return s;
    if (r.status != 200) return d_->Error("PUT", key_, r);
    return {};
  }

 private:
  Status Initiate() {
    S3Request req;
    req.method = "POST";
    req.key = key_;
    req.query = {{"uploads", ""}};
    S3Response r;
    if (Status s = d_->client().Do(req, &r); !s.ok()) return s;
    if (r.status != 200) return d_->Error("CreateMultipartUpload", key_, r);
    upload_id_ = XmlFirst(r.body, "UploadId");
    if (upload_id_.empty()) return Status::IO("storage-s3: no UploadId for " + key_);
    return {};
  }

  Status UploadPart(std::string_view data) {
    if (upload_id_.empty()) {
      if (Status s = Initiate(); !s.ok()) return s;
    }
    int number = parts_.empty() ? 1 : parts_.back().number + 1;
    S3Request req;
    req.method = "PUT";
    req.key = key_;
    req.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}};
    req.body = data;
    S3Response r;
    if (Status s = d_->client().Do(req, &r); !s.ok()) return s;
    if (r.status != 200) return d_->Error("UploadPart", key_, r);
    parts_.push_back({number, r.Header("etag"), static_cast<int64_t>(data.size())});
    return {};
  }

  S3Driver* d_;
  std::string path_, key_, sidecar_;
  std::string upload_id_;
  std::vector<Part> parts_;
  std::string buf_;  // written, not yet in a part
  int64_t size_ = 0;
  bool had_sidecar_ = false;
  bool dirty_ = false;
  bool done_ = false;
};

}  // namespace

// ---- Driver ------------------------------------------------------------------------------

std::string S3Driver::Key(std::string_view path) const {
  return opt_.root_prefix + std::string(path.substr(1));
}

std::string S3Driver::SidecarKey(std::string_view path) const {
  return opt_.root_prefix + "~uploads" + std::string(path);
}

Status S3Driver::Error(const std::string& op, const std::string& key, const S3Response& r) const {
  std::string code = XmlFirst(r.body, "Code");
  std::string msg = XmlFirst(r.body, "Message");
  std::string what = "storage-s3: " + op + " s3://" + client_->endpoint().bucket + "/" + key +
                     ": HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) +
                     (msg.empty() ? "" : ": " + msg);
  switch (r.status) {
    case 404:
      if (code == "NoSuchBucket") return Status::IO(what + " (the bucket does not exist)");
      return Status::NotFound(what);
    case 401:
      return Status::Unauthenticated(what);
    case 403:
      if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId") {
        return Status::Unauthenticated(what + " (check access_key and secret_key)");
      }
      if (code == "RequestTimeTooSkewed") return Status::IO(what + " (check the clock)");
      return Status::PermissionDenied(what);
    case 409:
      return Status::Conflict(what);
    case 416:
      return Status::InvalidOffset(what);
    case 400:
      return Status::InvalidArgument(what);
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return Status::Retry(what);
    default:
      return Status::IO(what);
  }
}

Status S3Driver::Create(const Host& host, std::string_view config, std::unique_ptr<S3Driver>* out) {
  nlohmann::json cfg = nlohmann::json::parse(config, nullptr, false);
  if (cfg.is_discarded() || !cfg.is_object()) return Status::InvalidArgument("storage-s3: config must be an object");
  auto str = [&](const char* k, const std::string& def = "") {
    return cfg.contains(k) && cfg[k].is_string() ? cfg[k].get<std::string>() : def;
  };
  S3Endpoint ep;
  std::string endpoint = str("endpoint");
  size_t sep = endpoint.find("://");
  if (sep == std::string::npos) return Status::InvalidArgument("storage-s3: endpoint must be http(s)://host[:port]");
  ep.scheme = endpoint.substr(0, sep);
  if (ep.scheme != "http" && ep.scheme != "https") {
    return Status::InvalidArgument("storage-s3: endpoint scheme must be http or https");
  }
  std::string rest = endpoint.substr(sep + 3);
  size_t slash = rest.find('/');
  ep.host = rest.substr(0, slash);
  if (slash != std::string::npos) ep.base_path = rest.substr(slash);
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  if (ep.host.empty()) return Status::InvalidArgument("storage-s3: endpoint has no host");
  ep.bucket = str("bucket");
  if (ep.bucket.empty()) return Status::InvalidArgument("storage-s3: bucket is required");
  ep.region = str("region", "us-east-1");
  ep.path_style = cfg.value("force_path_style", false);
  ep.tls_verify = cfg.value("tls_verify", true);
  ep.ca_file = str("ca_file");
  ep.access_key = str("access_key");
  ep.secret_key = str("secret_key");
  // Keys may stay out of berth.yml: the host's secrets (BERTH_SECRET_<NAME>).
  for (auto [value, name_key, def] :
       {std::tuple<std::string*, const char*, const char*>{&ep.access_key, "access_key_secret", "s3_access_key"},
        {&ep.secret_key, "secret_key_secret", "s3_secret_key"}}) {
    if (!value->empty()) continue;
    std::string name = str(name_key, def);
    Status s = host.Secret(name, value);
    if (!s.ok() || value->empty()) {
      return Status::InvalidArgument(std::string("storage-s3: no ") +
                                     (value == &ep.access_key ? "access_key" : "secret_key") +
                                     " in the config and no host secret '" + name + "'");
    }
  }
  S3Options opt;
  std::string root = str("root_prefix");
  while (!root.empty() && root.front() == '/') root.erase(0, 1);
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (!root.empty()) {
    if (!ValidPath("/" + root, false)) {
      return Status::InvalidArgument("storage-s3: root_prefix must be path components of [A-Za-z0-9._-]");
    }
    opt.root_prefix = root + "/";
  }
  opt.chunk_size = cfg.value("multipart_chunk_size", int64_t{16} << 20);
  if (opt.chunk_size < kMinPart || opt.chunk_size > (int64_t{5} << 30)) {
    return Status::InvalidArgument("storage-s3: multipart_chunk_size must be between 5 MiB and 5 GiB");
  }
  opt.redirect = cfg.value("redirect", false);
  opt.presign_ttl = cfg.value("presign_ttl_seconds", int64_t{1200});
  if (opt.presign_ttl < 1 || opt.presign_ttl > 604800) {
    return Status::InvalidArgument("storage-s3: presign_ttl_seconds must be 1..604800");
  }
  opt.copy_part_threshold = cfg.value("multipart_copy_threshold", int64_t{5} << 30);
  opt.copy_part_size = cfg.value("multipart_copy_part_size", int64_t{1} << 30);
  if (opt.copy_part_threshold < kMinPart || opt.copy_part_threshold > (int64_t{5} << 30) ||
      opt.copy_part_size < kMinPart || opt.copy_part_size > (int64_t{5} << 30)) {
    return Status::InvalidArgument("storage-s3: multipart copy sizes must be between 5 MiB and 5 GiB");
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto client = std::make_unique<S3Client>(ep);
  // Fail at start, with a clear message, on a wrong endpoint, bucket or key.
  S3Request probe;
  probe.method = "GET";
  probe.query = {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", opt.root_prefix}};
  S3Response r;
  if (Status s = client->Do(probe, &r); !s.ok()) return s;
  std::unique_ptr<S3Driver> d(new S3Driver(host, std::move(client), opt));
  if (r.status != 200) return d->Error("ListObjectsV2 (start-up check)", opt.root_prefix, r);
  host.Log(BERTH_LOG_INFO, "storage-s3: bucket " + ep.bucket + " at " + endpoint +
                               (opt.root_prefix.empty() ? "" : " under " + opt.root_prefix));
  *out = std::move(d);
  return {};
}

Status S3Driver::GetContent(const CallCtx& call, std::string_view path, Sink& out) {
  if (!ValidPath(path, false)) return BadPath(path);
  S3Request req;
  req.key = Key(path);
  req.timeout_ms = Remaining(call);
  Status sink_status;
  S3Response r;
  Status s = client_->Do(req, &r, [&](const char* p, size_t n) {
    sink_status = out.Append(std::string_view(p, n));
    return sink_status.ok();
  });
  if (!sink_status.ok()) return sink_status;
  if (!s.ok()) return s;
  if (r.status != 200) return Error("GET", req.key, r);
  return {};
}

Status S3Driver::PutContent(const CallCtx& call, std::string_view path, std::string_view data) {
  if (!ValidPath(path, false)) return BadPath(path);
  S3Request req;
  req.method = "PUT";
  req.key = Key(path);
  req.body = data;
  req.timeout_ms = Remaining(call);
  S3Response r;
  if (Status s = client_->Do(req, &r); !s.ok()) return s;
  if (r.status != 200) return Error("PUT", req.key, r);
  return {};
}

Status S3Driver::OpenReader(const CallCtx&, std::string_view path, int64_t offset,
                            std::unique_ptr<berth::sdk::StorageReader>* out) {
  if (!ValidPath(path, false)) return BadPath(path);
  if (offset < 0) return Status::InvalidOffset("negative offset");
  auto r = std::make_unique<S3Reader>(this, Key(path), offset);
  if (Status s = r->Open(); !s.ok()) return s;
  *out = std::move(r);
  return {};
}

Status S3Driver::OpenWriter(const CallCtx&, std::string_view path, bool append,
                            std::unique_ptr<berth::sdk::StorageWriter>* out) {
  if (!ValidPath(path, false)) return BadPath(path);
  auto w = std::make_unique<S3Writer>(this, std::string(path));
  if (Status s = w->Open(append); !s.ok()) return s;
  *out = std::move(w);
  return {};
}

Status S3Driver::Stat(const CallCtx&, std::string_view path, FileInfo* out) {
  if (!ValidPath(path, true)) return BadPath(path);
  if (path == "/") {
    *out = FileInfo{0, 0, true};
    return {};
  }
  S3Request head;
  head.method = "HEAD";
  head.key = Key(path);
  S3Response r;
  if (Status s = client_->Do(head, &r); !s.ok()) return s;
  if (r.status == 200) {
    std::string placeholder = r.Header(kSizeMeta);
    out->is_dir = false;
    out->size = placeholder.empty() ? ParseInt(r.Header("content-length"), 0) : ParseInt(placeholder, 0);
    out->mtime_unix_ns = ParseTimeNs(r.Header("last-modified"));
    return {};
  }
  if (r.status != 404) return Error("HEAD", head.key, r);
  std::vector<Object> objects;
  std::vector<std::string> prefixes;
  if (Status s = ListKeys(head.key + "/", false, &objects, &prefixes, 1); !s.ok()) return s;
  if (objects.empty()) return Status::NotFound("storage-s3: no object or directory " + std::string(path));
  *out = FileInfo{0, objects.front().mtime_ns, true};
  return {};
}

Status S3Driver::ListKeys(const std::string& prefix, bool delimited, std::vector<Object>* objects,
                          std::vector<std::string>* prefixes, int max_keys) {
  std::string token;
  for (;;) {
    S3Request req;
    req.query = {{"list-type", "2"}, {"prefix", prefix}};
    if (delimited) req.query.emplace_back("delimiter", "/");
    if (max_keys > 0) req.query.emplace_back("max-keys", std::to_string(max_keys));
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    S3Response r;
    if (Status s = client_->Do(req, &r); !s.ok()) return s;
    if (r.status != 200) return Error("ListObjectsV2", prefix, r);
    for (auto block : XmlBlocks(r.body, "Contents")) {
      Object o;
      o.key = XmlFirst(block, "Key");
      o.size = ParseInt(XmlFirst(block, "Size"), 0);
      o.mtime_ns = ParseTimeNs(XmlFirst(block, "LastModified"));
      objects->push_back(std::move(o));
    }
    for (auto block : XmlBlocks(r.body, "CommonPrefixes")) {
      prefixes->push_back(XmlFirst(block, "Prefix"));
    }
    if (max_keys > 0 || XmlFirst(r.body, "IsTruncated") != "true") return {};
    token = XmlFirst(r.body, "NextContinuationToken");
    if (token.empty()) return {};
  }
}

Status S3Driver::List(const CallCtx&, std::string_view path, std::vector<std::string>* out) {
  if (!ValidPath(path, true)) return BadPath(path);
  std::string prefix = path == "/" ? opt_.root_prefix : Key(path) + "/";
  std::vector<Object> objects;
  std::vector<std::string> prefixes;
  if (Status s = ListKeys(prefix, true, &objects, &prefixes); !s.ok()) return s;
  std::string base = path == "/" ? "/" : std::string(path) + "/";
  std::vector<std::string> names;
  for (const auto& o : objects) names.push_back(o.key.substr(prefix.size()));
  for (const auto& p : prefixes) names.push_back(p.substr(prefix.size(), p.size() - prefix.size() - 1));
  for (const auto& n : names) {
    if (ValidComponent(n)) out->push_back(base + n);  // skips sidecars ('~') and odd keys
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  if (out->empty() && path != "/") return Status::NotFound("storage-s3: no directory " + std::string(path));
  return {};
}

Status S3Driver::CopyObject(const std::string& src, const std::string& dst, int64_t size) {
  const std::string source = "/" + client_->endpoint().bucket + "/" + UriEncode(src, true);
  S3Response r;
  if (size <= opt_.copy_part_threshold) {
    S3Request req;
    req.method = "PUT";
    req.key = dst;
    req.headers.emplace_back("x-amz-copy-source", source);
    if (Status s = client_->Do(req, &r); !s.ok()) return s;
    if (r.status != 200 || r.body.find("<Error>") != std::string::npos) return Error("CopyObject", dst, r);
    return {};
  }
  // Past CopyObject's 5 GiB limit: a multipart upload of UploadPartCopy ranges.
  S3Request init;
  init.method = "POST";
  init.key = dst;
  init.query = {{"uploads", ""}};
  if (Status s = client_->Do(init, &r); !s.ok()) return s;
  if (r.status != 200) return Error("CreateMultipartUpload", dst, r);
  std::string upload_id = XmlFirst(r.body, "UploadId");
  std::string xml = "<CompleteMultipartUpload>";
  int number = 1;
  for (int64_t off = 0; off < size; off += opt_.copy_part_size, ++number) {
    int64_t end = std::min(size, off + opt_.copy_part_size) - 1;
    S3Request part;
    part.method = "PUT";
    part.key = dst;
    part.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
    part.headers.emplace_back("x-amz-copy-source", source);
    part.headers.emplace_back("x-amz-copy-source-range",
                              "bytes=" + std::to_string(off) + "-" + std::to_string(end));
    Status s = client_->Do(part, &r);
    if (s.ok() && (r.status != 200 || r.body.find("<Error>") != std::string::npos)) {
      s = Error("UploadPartCopy", dst, r);
    }
    if (!s.ok()) {
      AbortUpload(dst, upload_id);
      return s;
    }
    xml += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
           XmlEscape(XmlFirst(r.body, "ETag")) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  S3Request done;
  done.method = "POST";
  done.key = dst;
  done.query = {{"uploadId", upload_id}};
  done.body = xml;
  Status s = client_->Do(done, &r);
  if (s.ok() && (r.status != 200 || r.body.find("<Error>") != std::string::npos)) {
    s = Error("CompleteMultipartUpload", dst, r);
  }
  if (!s.ok()) AbortUpload(dst, upload_id);
  return s;
}

Status S3Driver::Move(const CallCtx&, std::string_view src, std::string_view dst) {
  if (!ValidPath(src, false)) return BadPath(src);
  if (!ValidPath(dst, false)) return BadPath(dst);
  std::string a = Key(src), b = Key(dst);
  S3Request head;
  head.method = "HEAD";
  head.key = a;
  S3Response r;
  if (Status s = client_->Do(head, &r); !s.ok()) return s;
  if (r.status == 404) return Status::NotFound("storage-s3: move: no object " + std::string(src));
  if (r.status != 200) return Error("HEAD", a, r);
  if (a == b) return {};
  if (Status s = CopyObject(a, b, ParseInt(r.Header("content-length"), 0)); !s.ok()) return s;
  return DeleteKeys({a});
}

Status S3Driver::DeleteKeys(const std::vector<std::string>& keys) {
  for (size_t i = 0; i < keys.size(); i += 1000) {
    std::string xml = "<Delete><Quiet>true</Quiet>";
    for (size_t j = i; j < std::min(keys.size(), i + 1000); ++j) {
      xml += "<Object><Key>" + XmlEscape(keys[j]) + "</Key></Object>";
    }
    xml += "</Delete>";
    S3Request req;
    req.method = "POST";
    req.query = {{"delete", ""}};
    req.headers.emplace_back("Content-MD5", Base64Md5(xml));
    req.headers.emplace_back("Content-Type", "application/xml");
    req.body = xml;
    S3Response r;
    if (Status s = client_->Do(req, &r); !s.ok()) return s;
    if (r.status != 200) return Error("DeleteObjects", keys[i], r);
    auto errors = XmlBlocks(r.body, "Error");
    if (!errors.empty()) {
      return Status::IO("storage-s3: DeleteObjects: " + XmlFirst(errors.front(), "Key") + ": " +
                        XmlFirst(errors.front(), "Code") + " " + XmlFirst(errors.front(), "Message"));
    }
  }
  return {};
}

Status S3Driver::AbortUpload(const std::string& key, const std::string& upload_id) {
  S3Request req;
  req.method = "DELETE";
  req.key = key;
  req.query = {{"uploadId", upload_id}};
  S3Response r;
  if (Status s = client_->Do(req, &r); !s.ok()) return s;
  if (r.status != 204 && r.status != 200 && r.status != 404) return Error("AbortMultipartUpload", key, r);
  return {};
}

// Unfinished uploads at or under `path`: their multipart uploads are aborted
// and their sidecars deleted.
Status S3Driver::RemoveSidecars(std::string_view path) {
  std::string own = SidecarKey(path);
  std::vector<Object> objects;
  std::vector<std::string> prefixes;
  if (Status s = ListKeys(own, false, &objects, &prefixes); !s.ok()) return s;
  std::vector<std::string> keys;
  for (const auto& o : objects) {
    if (o.key != own && o.key.compare(0, own.size() + 1, own + "/") != 0) continue;
    keys.push_back(o.key);
    S3Request get;
    get.key = o.key;
    S3Response r;
    if (client_->Do(get, &r).ok() && r.status == 200) {
      auto st = nlohmann::json::parse(r.body.substr(0, r.body.find('\n')), nullptr, false);
      if (st.is_object() && !st.value("upload_id", "").empty()) {
        std::string target = opt_.root_prefix + o.key.substr(SidecarKey("/").size());
        AbortUpload(target, st.value("upload_id", ""));
      }
    }
  }
  return keys.empty() ? Status() : DeleteKeys(keys);
}

Status S3Driver::Remove(const CallCtx&, std::string_view path) {
  if (!ValidPath(path, true)) return BadPath(path);
  if (path == "/") return Status::InvalidArgument("storage-s3: refusing to remove the storage root");
  std::string key = Key(path);
  std::vector<Object> objects;
  std::vector<std::string> prefixes;
  if (Status s = ListKeys(key + "/", false, &objects, &prefixes); !s.ok()) return s;
  std::vector<std::string> keys;
  for (const auto& o : objects) keys.push_back(o.key);
  S3Request head;
  head.method = "HEAD";
  head.key = key;
  S3Response r;
  if (Status s = client_->Do(head, &r); !s.ok()) return s;
  if (r.status == 200) keys.push_back(key);
  else if (r.status != 404) return Error("HEAD", key, r);
  if (Status s = RemoveSidecars(path); !s.ok()) return s;
  if (keys.empty()) return Status::NotFound("storage-s3: nothing at " + std::string(path));
  return DeleteKeys(keys);
}

namespace {
struct Node {
  std::map<std::string, Node> children;  // std::map: lexical order
  bool is_file = false;
  FileInfo info;
};

// Depth-first, children in lexical order; returns false once told to stop.
bool WalkNode(const std::string& base, const Node& n, const berth::sdk::StorageDriver::WalkFn& fn) {
  for (const auto& [name, child] : n.children) {
    std::string p = base + name;
    bool dir = !child.children.empty();
    FileInfo fi = dir ? FileInfo{0, child.info.mtime_unix_ns, true} : child.info;
    int32_t r = fn(p, fi);
    if (r == BERTH_WALK_STOP) return false;
    if (dir && r != BERTH_WALK_SKIP_DIR && !WalkNode(p + "/", child, fn)) return false;
  }
  return true;
}
}  // namespace

Status S3Driver::Walk(const CallCtx&, std::string_view path, const WalkFn& fn) {
  if (!ValidPath(path, true)) return BadPath(path);
  std::string prefix = path == "/" ? opt_.root_prefix : Key(path) + "/";
  std::vector<Object> objects;
  std::vector<std::string> prefixes;
  if (Status s = ListKeys(prefix, false, &objects, &prefixes); !s.ok()) return s;
  // One listing of the whole tree (1 request per 1000 keys), ordered here:
  // S3 sorts "a.x" before "a/1", a depth-first walk visits a/1 first.
  Node root;
  for (const auto& o : objects) {
    std::string_view rel = std::string_view(o.key).substr(prefix.size());
    Node* n = &root;
    bool ok = true;
    std::vector<std::string_view> comps;
    for (size_t i = 0; i <= rel.size();) {
      size_t j = rel.find('/', i);
      if (j == std::string_view::npos) j = rel.size();
      std::string_view c = rel.substr(i, j - i);
      if (!ValidComponent(c)) {
        ok = false;
        break;
      }
      comps.push_back(c);
      i = j + 1;
    }
    if (!ok || comps.empty()) continue;
    for (auto c : comps) {
      n = &n->children[std::string(c)];
      n->info.mtime_unix_ns = std::max(n->info.mtime_unix_ns, o.mtime_ns);
    }
    n->is_file = true;
    n->info = FileInfo{o.size, o.mtime_ns, false};
  }
  if (root.children.empty() && path != "/") {
    return Status::NotFound("storage-s3: no directory " + std::string(path));
  }
  WalkNode(path == "/" ? "/" : std::string(path) + "/", root, fn);
  return {};
}

Status S3Driver::RedirectUrl(const CallCtx&, std::string_view method, std::string_view path,
                             int64_t ttl_seconds, std::string* url) {
  if (!opt_.redirect) return Status::Unsupported("storage-s3: redirect is off in the config");
  if (!ValidPath(path, false)) return BadPath(path);
  if (method != "GET" && method != "HEAD") {
    return Status::InvalidArgument("storage-s3: only GET and HEAD are presigned");
  }
  int64_t ttl = ttl_seconds > 0 ? std::min(ttl_seconds, opt_.presign_ttl) : opt_.presign_ttl;
  int64_t now = host_.NowUnixNs() / 1000000000LL;
  if (now <= 0) now = static_cast<int64_t>(std::time(nullptr));
  *url = client_->Presign(std::string(method), Key(path), ttl, now);
  return {};
}

const char kConfigSchema[] = R"json({
  "type": "object",
  "properties": {
    "endpoint": {"type": "string", "minLength": 1, "description": "http(s)://host[:port] of the S3 service"},
    "region": {"type": "string", "minLength": 1, "description": "SigV4 region (default us-east-1)"},
    "bucket": {"type": "string", "minLength": 1},
    "access_key": {"type": "string"},
    "secret_key": {"type": "string"},
    "access_key_secret": {"type": "string", "description": "host secret holding the access key (default s3_access_key)"},
    "secret_key_secret": {"type": "string", "description": "host secret holding the secret key (default s3_secret_key)"},
    "root_prefix": {"type": "string", "description": "key prefix all objects live under"},
    "force_path_style": {"type": "boolean", "description": "endpoint/bucket/key instead of bucket.endpoint/key"},
    "tls_verify": {"type": "boolean"},
    "ca_file": {"type": "string", "description": "PEM CA bundle to trust for the endpoint"},
    "multipart_chunk_size": {"type": "integer", "minimum": 5242880, "maximum": 5368709120},
    "multipart_copy_threshold": {"type": "integer", "minimum": 5242880, "maximum": 5368709120},
    "multipart_copy_part_size": {"type": "integer", "minimum": 5242880, "maximum": 5368709120},
    "redirect": {"type": "boolean", "description": "blob GETs answered with a 307 to a presigned URL"},
    "presign_ttl_seconds": {"type": "integer", "minimum": 1, "maximum": 604800}
  },
  "required": ["endpoint", "bucket"],
  "additionalProperties": false
})json";

}  // namespace berth::storage_s3
