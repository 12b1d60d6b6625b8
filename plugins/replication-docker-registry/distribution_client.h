// DistributionClient: the distribution (OCI) API of one remote registry over
// libcurl, with Docker's auth: Basic, and Bearer tokens obtained through the
// WWW-Authenticate challenge (token cached per scope). Blobs stream both
// ways through callbacks; nothing is written to disk. Shared by the
// docker-registry and harbor replication adapters.
#ifndef BERTH_PLUGINS_DISTRIBUTION_CLIENT_H_
#define BERTH_PLUGINS_DISTRIBUTION_CLIENT_H_

#include <berth/plugin_sdk.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace berth::replication {

using berth::sdk::Status;

struct ClientOptions {
  std::string url;  // base, without trailing slash
  std::string username;
  std::string password;
  bool insecure = false;
  std::string ca_pem;
  int64_t chunk_size = 0;  // > 0: PATCH uploads in pieces of this size
  std::string user_agent = "berth-replication/1.0";
};

struct Response {
  long status = 0;
  std::multimap<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string Header(const std::string& lower) const {
    auto it = headers.find(lower);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Request {
  std::string method = "GET";
  std::string url;  // absolute, or a path starting with '/'
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  // Streaming: the body comes from `read` (size `body_size`, -1 unknown)
  // and/or goes to `write` instead of Response::body.
  std::function<size_t(char*, size_t)> read;
  int64_t body_size = -1;
  std::function<bool(const char*, size_t)> write;  // false aborts
  int64_t timeout_ms = 0;  // 0: none (transfers), but a low-speed limit applies
};

// A URL fragment in the endpoint ("#berth-chunked") asks for chunked pushes.
ClientOptions OptionsFromEndpoint(const berth::sdk::RegistryEndpoint& ep);

class DistributionClient {
 public:
  explicit DistributionClient(ClientOptions o);
  ~DistributionClient();
  DistributionClient(const DistributionClient&) = delete;
  DistributionClient& operator=(const DistributionClient&) = delete;

  const ClientOptions& options() const { return o_; }
  void set_cancel(const berth::sdk::CallCtx* call) { call_ = call; }

  // Sends with credentials; on a 401 answers the challenge once and
  // retries (not for a streamed body: callers authenticate first).
  Status Do(Request req, Response* resp);
  // Plain request with the given Authorization (or none).
  Status Send(const Request& req, const std::string& authorization, Response* resp);

  // The distribution API.
  Status Ping();  // GET /v2/
  Status Catalog(std::vector<std::string>* repos);
  Status Tags(const std::string& repo, std::vector<std::string>* tags);  // not found: empty
  Status HeadManifest(const std::string& repo, const std::string& ref, bool* exists,
                      std::string* digest, std::string* media_type);
  Status GetManifest(const std::string& repo, const std::string& ref, const std::string& accept,
                     std::string* media_type, std::string* body);
  Status PutManifest(const std::string& repo, const std::string& ref, const std::string& media_type,
                     const std::string& body, std::string* digest);
  Status DeleteManifest(const std::string& repo, const std::string& ref);
  Status BlobExists(const std::string& repo, const std::string& digest, bool* exists);
  Status GetBlob(const std::string& repo, const std::string& digest, int64_t offset, int64_t length,
                 const std::function<bool(const char*, size_t)>& write, int64_t* total);
  Status PushBlob(const std::string& repo, const std::string& digest, int64_t size,
                  const std::function<Status(char*, size_t, size_t*)>& read);
  Status MountBlob(const std::string& from, const std::string& digest, const std::string& to);

 private:
  std::string Absolute(const std::string& url_or_path) const;
  Status Authorize(const std::string& challenge, std::string* header);
  Status StartUpload(const std::string& repo, std::string* location);

  ClientOptions o_;
  void* curl_;
  const berth::sdk::CallCtx* call_ = nullptr;
  std::string auth_;  // the Authorization that last worked
  std::map<std::string, std::string> tokens_;  // scope -> "Bearer ..."
};

// Maps an HTTP status of the remote to a plugin status.
Status FromHttp(long status, const std::string& what, const std::string& body);

}  // namespace berth::replication

#endif  // BERTH_PLUGINS_DISTRIBUTION_CLIENT_H_
