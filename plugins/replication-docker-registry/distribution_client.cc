#include "distribution_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace berth::replication {

namespace {

constexpr size_t kMaxBody = 64 << 20;  // metadata answers (manifests, lists)
constexpr char kManifestAccept[] =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.v1+prettyjws, application/json";

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string Base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Parameters of a challenge: Bearer realm="...",service="...",scope="...".
std::map<std::string, std::string> ChallengeParams(const std::string& s) {
  std::map<std::string, std::string> out;
  size_t i = s.find(' ');
  while (i != std::string::npos && i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
    size_t eq = s.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = Lower(Trim(s.substr(i, eq - i)));
    std::string value;
    size_t j = eq + 1;
    if (j < s.size() && s[j] == '"') {
      ++j;
      while (j < s.size() && s[j] != '"') {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        value += s[j++];
      }
      ++j;
    } else {
      while (j < s.size() && s[j] != ',') value += s[j++];
    }
    out[key] = Trim(value);
    i = j;
  }
  return out;
}

struct Transfer {
  const Request* req;
  Response* resp;
  bool too_large = false;
  bool aborted = false;
  const berth::sdk::CallCtx* call;
};

size_t OnWrite(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  // Only a 2xx body goes to the stream; errors are kept for the message.
  if (t->req->write && t->resp->status >= 200 && t->resp->status < 300) {
    if (!t->req->write(data, len)) {
      t->aborted = true;
      return 0;
    }
    return len;
  }
  if (t->resp->body.size() + len > kMaxBody) {
    t->too_large = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();
    size_t sp = line.find(' ');
    if (sp != std::string::npos) t->resp->status = std::atol(line.c_str() + sp + 1);
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    t->resp->headers.emplace(Lower(Trim(line.substr(0, colon))), Trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t OnRead(char* buf, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t got = t->req->read(buf, size * n);
  if (got == static_cast<size_t>(-1)) {
    t->aborted = true;
    return CURL_READFUNC_ABORT;
  }
  return got;
}

int OnProgress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(ud);
  return t->call != nullptr && t->call->cancelled() ? 1 : 0;
}

std::string WithQuery(const std::string& url, const std::string& kv) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + kv;
}

std::string BareType(const std::string& ct) {
  std::string t = ct.substr(0, ct.find(';'));
  return Lower(Trim(t));
}

// The next page from a Link header: </v2/_catalog?last=x&n=100>; rel="next".
std::string NextLink(const Response& r) {
  std::string link = r.Header("link");
  size_t lt = link.find('<'), gt = link.find('>');
  if (lt == std::string::npos || gt == std::string::npos || link.find("next") == std::string::npos) {
    return "";
  }
  return link.substr(lt + 1, gt - lt - 1);
}

}  // namespace

Status FromHttp(long status, const std::string& what, const std::string& body) {
  std::string msg = what + ": HTTP " + std::to_string(status);
  if (!body.empty()) msg += ": " + body.substr(0, 512);
  if (status == 401) return Status::Unauthenticated(msg);
  if (status == 403) return Status::PermissionDenied(msg);
  if (status == 404) return Status::NotFound(msg);
  if (status == 409 || status == 412) return Status::Conflict(msg);
  if (status == 400 || status == 405 || status == 413 || status == 416) return Status::InvalidArgument(msg);
  if (status == 429 || status >= 500) return Status::Retry(msg);
  return Status::IO(msg);
}

ClientOptions OptionsFromEndpoint(const berth::sdk::RegistryEndpoint& ep) {
  ClientOptions o;
  std::string url = ep.url;
  size_t hash = url.find('#');
  if (hash != std::string::npos) {
    if (url.find("berth-chunked", hash) != std::string::npos) o.chunk_size = 10 << 20;
    url = url.substr(0, hash);
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  o.url = url;
  if (!ep.access_key.empty() || !ep.access_secret.empty()) {
    o.username = ep.access_key;
    o.password = ep.access_secret;
  }
  o.insecure = ep.insecure;
  o.ca_pem = ep.ca_pem;
  return o;
}

DistributionClient::DistributionClient(ClientOptions o) : o_(std::move(o)), curl_(curl_easy_init()) {}

DistributionClient::~DistributionClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::string DistributionClient::Absolute(const std::string& u) const {
  if (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0) return u;
  return o_.url + u;
}

Status DistributionClient::Send(const Request& req, const std::string& authorization,
                                Response* resp) {
  CURL* h = static_cast<CURL*>(curl_);
  if (h == nullptr) return Status::Internal("curl_easy_init failed");
  curl_easy_reset(h);
  *resp = Response();
  Transfer t{&req, resp, false, false, call_};
  std::string url = Absolute(req.url);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
  if (req.timeout_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout_ms));
  curl_easy_setopt(h, CURLOPT_USERAGENT, o_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  if (o_.insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  struct curl_blob ca;
  if (!o_.ca_pem.empty()) {
    ca.data = const_cast<char*>(o_.ca_pem.data());
    ca.len = o_.ca_pem.size();
    ca.flags = CURL_BLOB_COPY;
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
  }
  struct curl_slist* hs = nullptr;
  for (const auto& line : req.headers) hs = curl_slist_append(hs, line.c_str());
  if (!authorization.empty()) hs = curl_slist_append(hs, ("Authorization: " + authorization).c_str());
  hs = curl_slist_append(hs, "Expect:");
  bool has_body = req.read || !req.body.empty() || req.method == "POST" || req.method == "PUT" ||
                  req.method == "PATCH";
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);  // blob GETs may redirect to storage
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  } else if (has_body) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.read) {
      curl_easy_setopt(h, CURLOPT_READFUNCTION, &OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body_size));
    } else {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(hs);
  if (t.aborted) return Status(BERTH_E_CANCELLED, req.method + " " + url + ": transfer aborted");
  if (t.too_large) return Status::IO(req.method + " " + url + ": answer larger than 64 MiB");
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Status(BERTH_E_CANCELLED, req.method + " " + url + ": cancelled");
  if (rc != CURLE_OK) {
    return Status::Retry(req.method + " " + url + ": " + curl_easy_strerror(rc));
  }
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  resp->status = code;
  return {};
}

Status DistributionClient::Authorize(const std::string& challenge, std::string* header) {
  std::string scheme = Lower(challenge.substr(0, challenge.find(' ')));
  if (scheme == "basic") {
    if (o_.username.empty() && o_.password.empty()) {
      return Status::Unauthenticated("the registry asks for credentials and none are configured");
    }
    *header = "Basic " + Base64(o_.username + ":" + o_.password);
    return {};
  }
  if (scheme != "bearer") return Status::Unauthenticated("unsupported auth challenge: " + challenge);
  auto params = ChallengeParams(challenge);
  std::string realm = params["realm"];
  if (realm.empty()) return Status::Unauthenticated("bearer challenge without realm: " + challenge);
  std::string url = realm;
  if (!params["service"].empty()) url = WithQuery(url, "service=" + Escape(params["service"]));
  // A challenge may carry several scopes separated by spaces.
  std::string scopes = params["scope"];
  size_t start = 0;
  while (start < scopes.size()) {
    size_t sp = scopes.find(' ', start);
    std::string one = scopes.substr(start, sp == std::string::npos ? std::string::npos : sp - start);
    if (!one.empty()) url = WithQuery(url, "scope=" + Escape(one));
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  Request req;
  req.url = url;
  req.timeout_ms = 60000;
  Response resp;
  std::string basic;
  if (!o_.username.empty() || !o_.password.empty()) basic = "Basic " + Base64(o_.username + ":" + o_.password);
  Status s = Send(req, basic, &resp);
  if (!s.ok()) return s;
  if (resp.status == 401 || resp.status == 403) {
    return Status::Unauthenticated("the token service refused the credentials (HTTP " +
                                   std::to_string(resp.status) + ")");
  }
  if (resp.status != 200) return FromHttp(resp.status, "token service " + realm, resp.body);
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  std::string token;
  if (j.is_object()) {
    if (j.contains("token") && j["token"].is_string()) token = j["token"];
    else if (j.contains("access_token") && j["access_token"].is_string()) token = j["access_token"];
  }
  if (token.empty()) return Status::IO("the token service returned no token");
  *header = "Bearer " + token;
  tokens_[scopes] = *header;
  return {};
}

Status DistributionClient::Do(Request req, Response* resp) {
  Status s = Send(req, auth_, resp);
  if (!s.ok() || resp->status != 401) return s;
  std::string challenge = resp->Header("www-authenticate");
  if (challenge.empty()) return {};
  std::string header;
  auto params = ChallengeParams(challenge);
  auto cached = tokens_.find(params["scope"]);
  if (cached != tokens_.end() && cached->second != auth_) {
    header = cached->second;
  } else {
    Status a = Authorize(challenge, &header);
    if (!a.ok()) return a;
  }
  if (req.read) {
    // A streamed body cannot be sent twice: keep the credentials for the retry by the caller.
    auth_ = header;
    return Status::Retry("authentication was required in the middle of a streamed upload");
  }
  s = Send(req, header, resp);
  if (s.ok() && resp->status == 401 && cached != tokens_.end()) {
    // A cached token may have expired: one fresh one.
    Status a = Authorize(challenge, &header);
    if (!a.ok()) return a;
    s = Send(req, header, resp);
  }
  if (s.ok() && resp->status != 401) auth_ = header;
  return s;
}

Status DistributionClient::Ping() {
  Request req;
  req.url = "/v2/";
  req.timeout_ms = 30000;
  Response resp;
  Status s = Do(req, &resp);
  if (!s.ok()) return s;
  if (resp.status == 200) return {};
  return FromHttp(resp.status, "GET /v2/", resp.body);
}

Status DistributionClient::Catalog(std::vector<std::string>* repos) {
  std::string next = "/v2/_catalog?n=1000";
  while (!next.empty()) {
    Request req;
    req.url = next;
    req.timeout_ms = 120000;
    Response resp;
    Status s = Do(req, &resp);
    if (!s.ok()) return s;
    if (resp.status != 200) return FromHttp(resp.status, "GET /v2/_catalog", resp.body);
    auto j = nlohmann::json::parse(resp.body, nullptr, false);
    if (!j.is_object()) return Status::IO("GET /v2/_catalog: malformed answer");
    for (const auto& r : j.value("repositories", nlohmann::json::array())) {
      if (r.is_string()) repos->push_back(r.get<std::string>());
    }
    next = NextLink(resp);
  }
  return {};
}

Status DistributionClient::Tags(const std::string& repo, std::vector<std::string>* tags) {
  std::string next = "/v2/" + repo + "/tags/list?n=1000";
  while (!next.empty()) {
    Request req;
    req.url = next;
    req.timeout_ms = 120000;
    Response resp;
    Status s = Do(req, &resp);
    if (!s.ok()) return s;
    if (resp.status == 404) return {};
    if (resp.status != 200) return FromHttp(resp.status, "GET tags of " + repo, resp.body);
    auto j = nlohmann::json::parse(resp.body, nullptr, false);
    if (!j.is_object()) return Status::IO("GET tags of " + repo + ": malformed answer");
    auto t = j.value("tags", nlohmann::json::array());
    if (t.is_array()) {
      for (const auto& x : t) {
        if (x.is_string()) tags->push_back(x.get<std::string>());
      }
    }
    next = NextLink(resp);
  }
  return {};
}

Status DistributionClient::HeadManifest(const std::string& repo, const std::string& ref,
                                        bool* exists, std::string* digest, std::string* media_type) {
  Request req;
  req.method = "HEAD";
  req.url = "/v2/" + repo + "/manifests/" + ref;
  req.headers = {std::string("Accept: ") + kManifestAccept};
  req.timeout_ms = 60000;
  Response resp;
  Status s = Do(req, &resp);
  if (!s.ok()) return s;
  if (resp.status == 404) {
    *exists = false;
    return {};
  }
  if (resp.status != 200) return FromHttp(resp.status, "HEAD manifest " + repo + ":" + ref, "");
  *exists = true;
  *digest = resp.Header("docker-content-digest");
  *media_type = BareType(resp.Header("content-type"));
  return {};
}

Status DistributionClient::GetManifest(const std::string& repo, const std::string& ref,
                                       const std::string& accept, std::string* media_type,
                                       std::string* body) {
  Request req;
  req.url = "/v2/" + repo + "/manifests/" + ref;
  req.headers = {"Accept: " + (accept.empty() ? std::string(kManifestAccept) : accept)};
  req.timeout_ms = 120000;
  Response resp;
  Status s = Do(req, &resp);
  if (!s.ok()) return s;
  if (resp.status != 200) return FromHttp(resp.status, "GET manifest " + repo + ":" + ref, resp.body);
  *media_type = BareType(resp.Header("content-type"));
  *body = std::move(resp.body);
  return {};
}

Status DistributionClient::PutManifest(const std::string& repo, const std::string& ref,
                                       const std::string& media_type, const std::string& body,
                                       std::string* digest) {
  Request req;
  req.method = "PUT";
  req.url = "/v2/" + repo + "/manifests/" + ref;
  req.headers = {"Content-Type: " + media_type};
  req.body = body;
  req.timeout_ms = 120000;
  Response resp;
  Status s = Do(req, &resp);
  if (!s.ok()) return s;
  if (resp.status != 201 && resp.status != 200) {
    return FromHttp(resp.status, "PUT manifest " + repo + ":" + ref, resp.body);
  }
  *digest = resp.Header("docker-content-digest");
  return {};
}

Status DistributionClient::DeleteManifest(const std::string& repo, const std::string& ref) {
  std::string digest = ref;
  if (ref.find(':') == std::string::npos) {
    bool exists = false;
    std::string mt;
    Status s = HeadManifest(repo, ref, &exists, &digest, &mt);
    if (!s.ok()) return s;
    if (!exists) return Status::NotFound("manifest " + repo + ":" + ref + " not found");
  }
  Request req;
  req.method = "DELETE";
  req.url = "/v2/" + repo + "/manifests/" + digest;
  req.timeout_ms = 120000;
  Response resp;
  Status s = Do(req, &resp);
  if (!s.ok()) return s;
  if (resp.status == 202 || resp.status == 200 || resp.status == 204) return {};
  return FromHttp(resp.status, "DELETE manifest " + repo + "@" + digest, resp.body);
}

Status DistributionClient::BlobExists(const std::string& repo, const std::string& digest, bool* exists) {
  Request req;
  req.method = "HEAD";
  req.url = "/v2/" + repo + "/blobs/" + digest;
  req.timeout_ms = 60000;
  Response resp;
  Status s = Do(req, &resp);
  if (!s.ok()) return s;
  if (resp.status == 404) {
    *exists = false;
    return {};
  }
  if (resp.status != 200) return FromHttp(resp.status, "HEAD blob " + repo + "@" + digest, "");
  *exists = true;
  return {};
}

Status DistributionClient::GetBlob(const std::string& repo, const std::string& digest,
                                   int64_t offset, int64_t length,
                                   const std::function<bool(const char*, size_t)>& write,
                                   int64_t* total) {
  // Authenticate first (a HEAD): the streamed GET is not retried.
  bool exists = false;
  Status s = BlobExists(repo, digest, &exists);
  if (!s.ok()) return s;
  if (!exists) return Status::NotFound("blob " + repo + "@" + digest + " not found");
  Request req;
  req.url = "/v2/" + repo + "/blobs/" + digest;
  if (offset > 0 || length >= 0) {
    req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" +
                          (length >= 0 ? std::to_string(offset + length - 1) : std::string()));
  }
  int64_t got = 0;
  req.write = [&](const char* d, size_t n) {
    got += static_cast<int64_t>(n);
    return write(d, n);
  };
  Response resp;
  s = Send(req, auth_, &resp);
  if (!s.ok()) return s;
  if (resp.status != 200 && resp.status != 206) {
    return FromHttp(resp.status, "GET blob " + repo + "@" + digest, resp.body);
  }
  if (total != nullptr) *total = offset + got;
  return {};
}

Status DistributionClient::StartUpload(const std::string& repo, std::string* location) {
  Request req;
  req.method = "POST";
  req.url = "/v2/" + repo + "/blobs/uploads/";
  req.headers = {"Content-Type: application/octet-stream"};
  req.timeout_ms = 60000;
  Response resp;
  Status s = Do(req, &resp);
  if (!s.ok()) return s;
  if (resp.status != 202) return FromHttp(resp.status, "POST upload to " + repo, resp.body);
  *location = resp.Header("location");
  if (location->empty()) return Status::IO("POST upload to " + repo + ": no Location");
  return {};
}

Status DistributionClient::PushBlob(const std::string& repo, const std::string& digest,
                                    int64_t size,
                                    const std::function<Status(char*, size_t, size_t*)>& read) {
  std::string location;
  Status s = StartUpload(repo, &location);
  if (!s.ok()) return s;
  Status read_error;
  int64_t offset = 0;
  auto patch = [&](Request& req) -> Status {
    Response resp;
    Status st = Send(req, auth_, &resp);
    if (!read_error.ok()) return read_error;
    if (!st.ok()) return st;
    if (resp.status != 202 && resp.status != 204) {
      return FromHttp(resp.status, "PATCH upload of " + digest, resp.body);
    }
    std::string next = resp.Header("location");
    if (!next.empty()) location = next;
    return {};
  };
  if (o_.chunk_size > 0) {
    // copy_by_chunk: pieces of chunk_size with Content-Range, each in memory.
    std::string buf;
    for (;;) {
      buf.resize(static_cast<size_t>(o_.chunk_size));
      size_t filled = 0;
      while (filled < buf.size()) {
        size_t n = 0;
        Status r = read(buf.data() + filled, buf.size() - filled, &n);
        if (!r.ok()) return r;
        if (n == 0) break;
        filled += n;
      }
      if (filled == 0) break;
      buf.resize(filled);
      Request req;
      req.method = "PATCH";
      req.url = location;
      req.headers = {"Content-Type: application/octet-stream",
                     "Content-Range: " + std::to_string(offset) + "-" +
                         std::to_string(offset + static_cast<int64_t>(filled) - 1)};
      req.body = buf;
      s = patch(req);
      if (!s.ok()) return s;
      offset += static_cast<int64_t>(filled);
      if (filled < static_cast<size_t>(o_.chunk_size)) break;
    }
  } else if (size != 0) {
    Request req;
    req.method = "PATCH";
    req.url = location;
    req.headers = {"Content-Type: application/octet-stream"};
    req.body_size = size;
    req.read = [&](char* b, size_t cap) -> size_t {
      size_t n = 0;
      Status r = read(b, cap, &n);
      if (!r.ok()) {
        read_error = r;
        return static_cast<size_t>(-1);
      }
      offset += static_cast<int64_t>(n);
      return n;
    };
    s = patch(req);
    if (!s.ok()) return s;
  }
  if (size >= 0 && offset != size) {
    return Status::IO("blob " + digest + ": sent " + std::to_string(offset) + " bytes of " +
                      std::to_string(size));
  }
  Request put;
  put.method = "PUT";
  put.url = WithQuery(location, "digest=" + Escape(digest));
  put.headers = {"Content-Type: application/octet-stream"};
  put.timeout_ms = 600000;
  Response resp;
  s = Send(put, auth_, &resp);
  if (!s.ok()) return s;
  if (resp.status != 201 && resp.status != 204) {
    return FromHttp(resp.status, "PUT upload of " + digest, resp.body);
  }
  return {};
}

Status DistributionClient::MountBlob(const std::string& from, const std::string& digest,
                                     const std::string& to) {
  Request req;
  req.method = "POST";
  req.url = "/v2/" + to + "/blobs/uploads/?mount=" + Escape(digest) + "&from=" + Escape(from);
  req.headers = {"Content-Type: application/octet-stream"};
  req.timeout_ms = 60000;
  Response resp;
  Status s = Do(req, &resp);
  if (!s.ok()) return s;
  if (resp.status == 201) return {};
  if (resp.status == 202) {
    // Not mounted: an upload was started instead; drop it.
    Request del;
    del.method = "DELETE";
    del.url = resp.Header("location");
    Response ignored;
    if (!del.url.empty()) (void)Send(del, auth_, &ignored);
    return Status::Unsupported("the registry did not mount " + digest + " from " + from);
  }
  return FromHttp(resp.status, "mount " + digest + " into " + to, resp.body);
}

}  // namespace berth::replication
