// S3Client: signed S3 requests (AWS Signature Version 4, HMAC-SHA256 from
// OpenSSL) over a pool of libcurl easy handles, so concurrent callers reuse
// connections without sharing a handle.
#ifndef BERTH_PLUGINS_STORAGE_S3_S3_CLIENT_H_
#define BERTH_PLUGINS_STORAGE_S3_S3_CLIENT_H_

#include <berth/plugin_sdk.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::storage_s3 {

using Status = berth::sdk::Status;

struct S3Endpoint {
  std::string scheme;   // http | https
  std::string host;     // host[:port], as in the Host header
  std::string base_path;  // path under the endpoint ("" or "/x")
  std::string bucket;
  std::string region;
  bool path_style = false;
  std::string access_key;
  std::string secret_key;
  bool tls_verify = true;
  std::string ca_file;
};

struct S3Request {
  std::string method = "GET";
  std::string key;  // object key without a leading '/'; empty for the bucket
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
  int64_t timeout_ms = 0;  // 0: no overall limit (stalls are still cut off)
};

struct S3Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                             // error bodies and small answers
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Receives the body of a successful (2xx) response; false stops the transfer.
using BodyFn = std::function<bool(const char* data, size_t len)>;

class S3Client {
 public:
  explicit S3Client(S3Endpoint ep) : ep_(std::move(ep)) {}
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Sends a signed request. Network failures are retried for requests whose
  // body is in memory; HTTP errors are returned in *resp for the caller to map.
  Status Do(const S3Request& req, S3Response* resp, const BodyFn& body_fn = nullptr);

  // A presigned URL (query-string SigV4) valid for ttl_seconds.
  std::string Presign(const std::string& method, const std::string& key, int64_t ttl_seconds,
                      int64_t now_unix) const;

  const S3Endpoint& endpoint() const { return ep_; }

  // Signs a request: the headers to send (Host, x-amz-date,
  // x-amz-content-sha256, Authorization) are added to *headers. Exposed for tests.
  static void Sign(const S3Endpoint& ep, const std::string& method, const std::string& path,
                   const std::vector<std::pair<std::string, std::string>>& query,
                   std::vector<std::pair<std::string, std::string>>* headers,
                   const std::string& payload_sha256, int64_t now_unix);

 private:
  struct Target {
    std::string host;
    std::string path;  // URI-encoded, from the endpoint's root
  };
  Target TargetOf(const std::string& key) const;
  void* Acquire();
  void Release(void* curl);
  Status Once(const S3Request& req, S3Response* resp, const BodyFn& body_fn, bool* retryable);

  S3Endpoint ep_;
  std::mutex mu_;
  std::vector<void*> idle_;
};

// ---- Helpers shared by the driver -------------------------------------------------

std::string UriEncode(std::string_view s, bool keep_slash);
std::string HexSha256(std::string_view data);
std::string Base64Md5(std::string_view data);
std::string XmlEscape(std::string_view s);
// The text of every <tag>...</tag> in document order (entities decoded).
std::vector<std::string> XmlAll(std::string_view xml, std::string_view tag);
// The text of the first <tag>...</tag>, or "".
std::string XmlFirst(std::string_view xml, std::string_view tag);
// The inner XML of every <tag>...</tag> block (undecoded), for nested lists.
std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag);
// Parses an HTTP date (RFC 1123) or ISO 8601 timestamp into Unix nanoseconds; 0 if unparsable.
int64_t ParseTimeNs(const std::string& s);

}  // namespace berth::storage_s3

#endif  // BERTH_PLUGINS_STORAGE_S3_S3_CLIENT_H_
