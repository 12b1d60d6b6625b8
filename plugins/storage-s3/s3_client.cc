#include "s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace berth::storage_s3 {
namespace {

constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = d[p[i] >> 4];
    out[2 * i + 1] = d[p[i] & 15];
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

void AmzDate(int64_t now, std::string* date_time, std::string* date) {
  time_t t = static_cast<time_t>(now);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  *date_time = buf;
  *date = date_time->substr(0, 8);
}

std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> q) {
  for (auto& [k, v] : q) {
    k = UriEncode(k, false);
    v = UriEncode(v, false);
  }
  std::sort(q.begin(), q.end());
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string SigningKey(const S3Endpoint& ep, const std::string& date) {
  std::string k = Hmac("AWS4" + ep.secret_key, date);
  k = Hmac(k, ep.region);
  k = Hmac(k, "s3");
  return Hmac(k, "aws4_request");
}

std::string XmlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out += s[i];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      long v = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                   ? std::strtol(std::string(ent.substr(2)).c_str(), nullptr, 16)
                   : std::strtol(std::string(ent.substr(1)).c_str(), nullptr, 10);
      if (v > 0 && v < 128) out += static_cast<char>(v);
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

size_t WriteCb(char* p, size_t size, size_t n, void* ud);
size_t HeaderCb(char* p, size_t size, size_t n, void* ud);

struct Transfer {
  S3Response* resp;
  const BodyFn* body_fn;
  bool status_seen = false;
  bool aborted = false;
};

size_t HeaderCb(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(p, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();  // a new response (after 100 Continue)
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos) t->resp->status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->resp->headers[Lower(std::string(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t WriteCb(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  if (t->body_fn != nullptr && *t->body_fn && t->resp->status >= 200 && t->resp->status < 300) {
    if (!(*t->body_fn)(p, len)) {
      t->aborted = true;
      return 0;
    }
    return len;
  }
  if (t->resp->body.size() < (64u << 20)) t->resp->body.append(p, len);
  return len;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* d = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += d[c >> 4];
      out += d[c & 15];
    }
  }
  return out;
}

std::string HexSha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return Hex(out, sizeof out);
}

std::string Base64Md5(std::string_view data) {
  unsigned char md[16];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string open = "<" + std::string(tag), close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  for (;;) {
    size_t b = xml.find(open, pos);
    if (b == std::string_view::npos) break;
    size_t after = b + open.size();
    if (after >= xml.size()) break;
    char next = xml[after];
    if (next != '>' && next != ' ' && next != '/') {  // <KeyCount> is not <Key>
      pos = after;
      continue;
    }
    size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) break;
    if (xml[gt - 1] == '/') {  // <Tag/>
      out.push_back(std::string_view());
      pos = gt + 1;
      continue;
    }
    size_t e = xml.find(close, gt + 1);
    if (e == std::string_view::npos) break;
    out.push_back(xml.substr(gt + 1, e - gt - 1));
    pos = e + close.size();
  }
  return out;
}

std::vector<std::string> XmlAll(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  for (auto b : XmlBlocks(xml, tag)) out.push_back(XmlDecode(b));
  return out;
}

std::string XmlFirst(std::string_view xml, std::string_view tag) {
  auto all = XmlBlocks(xml, tag);
  return all.empty() ? std::string() : XmlDecode(all.front());
}

int64_t ParseTimeNs(const std::string& s) {
  struct tm tm;
  std::memset(&tm, 0, sizeof tm);
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  int64_t frac_ns = 0;
  if (end == nullptr) {
    std::memset(&tm, 0, sizeof tm);
    end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == nullptr) return 0;
    if (*end == '.') {
      int64_t scale = 100000000;
      for (++end; *end >= '0' && *end <= '9'; ++end) {
        frac_ns += (*end - '0') * scale;
        scale /= 10;
      }
    }
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000000000LL + frac_ns;
}

S3Client::~S3Client() {
  for (void* c : idle_) curl_easy_cleanup(static_cast<CURL*>(c));
}

void* S3Client::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* c = idle_.back();
      idle_.pop_back();
      return c;
    }
  }
  return curl_easy_init();
}

void S3Client::Release(void* c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < 64) {
    idle_.push_back(c);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(c));
  }
}

S3Client::Target S3Client::TargetOf(const std::string& key) const {
  Target t;
  std::string path = ep_.base_path;
  if (ep_.path_style) {
    t.host = ep_.host;
    path += "/" + ep_.bucket;
    if (!key.empty()) path += "/" + key;
  } else {
    t.host = ep_.bucket + "." + ep_.host;
    path += "/" + key;
  }
  t.path = UriEncode(path, true);
  return t;
}

void S3Client::Sign(const S3Endpoint& ep, const std::string& method, const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& query,
                    std::vector<std::pair<std::string, std::string>>* headers,
                    const std::string& payload_sha256, int64_t now_unix) {
  std::string amz_date, date;
  AmzDate(now_unix, &amz_date, &date);
  headers->emplace_back("x-amz-date", amz_date);
  headers->emplace_back("x-amz-content-sha256", payload_sha256);
  // Every header we send is signed: canonical form is lower-case names, sorted.
  std::vector<std::pair<std::string, std::string>> canon;
  for (const auto& [k, v] : *headers) canon.emplace_back(Lower(k), Trim(v));
  std::sort(canon.begin(), canon.end());
  std::string canonical_headers, signed_headers;
  for (const auto& [k, v] : canon) {
    canonical_headers += k + ":" + v + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += k;
  }
  std::string creq = method + "\n" + path + "\n" + CanonicalQuery(query) + "\n" +
                     canonical_headers + "\n" + signed_headers + "\n" + payload_sha256;
  std::string scope = date + "/" + ep.region + "/s3/aws4_request";
  std::string sts = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + HexSha256(creq);
  std::string sig = Hmac(SigningKey(ep, date), sts);
  headers->emplace_back("Authorization",
                        "AWS4-HMAC-SHA256 Credential=" + ep.access_key + "/" + scope +
                            ", SignedHeaders=" + signed_headers +
                            ", Signature=" + Hex(reinterpret_cast<const unsigned char*>(sig.data()),
                                                 sig.size()));
}

std::string S3Client::Presign(const std::string& method, const std::string& key,
                              int64_t ttl_seconds, int64_t now_unix) const {
  Target t = TargetOf(key);
  std::string amz_date, date;
  AmzDate(now_unix, &amz_date, &date);
  std::string scope = date + "/" + ep_.region + "/s3/aws4_request";
  std::vector<std::pair<std::string, std::string>> q = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", ep_.access_key + "/" + scope},
      {"X-Amz-Date", amz_date},
      {"X-Amz-Expires", std::to_string(ttl_seconds)},
      {"X-Amz-SignedHeaders", "host"}};
  std::string cq = CanonicalQuery(q);
  std::string creq = method + "\n" + t.path + "\n" + cq + "\nhost:" + t.host + "\n\nhost\n" +
                     kUnsignedPayload;
  std::string sts = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + HexSha256(creq);
  std::string sig = Hmac(SigningKey(ep_, date), sts);
  return ep_.scheme + "://" + t.host + t.path + "?" + cq + "&X-Amz-Signature=" +
         Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

Status S3Client::Once(const S3Request& req, S3Response* resp, const BodyFn& body_fn,
                      bool* retryable) {
  *retryable = false;
  Target t = TargetOf(req.key);
  std::vector<std::pair<std::string, std::string>> headers = req.headers;
  headers.emplace_back("host", t.host);
  if (req.method == "PUT" || req.method == "POST") {
    // Else curl would label every object application/x-www-form-urlencoded.
    bool typed = false;
    for (const auto& [k, v] : headers) typed = typed || Lower(k) == "content-type";
    if (!typed) headers.emplace_back("Content-Type", "application/octet-stream");
  }
  std::string payload = req.body.empty() ? kEmptySha256 : HexSha256(req.body);
  Sign(ep_, req.method, t.path, req.query, &headers, payload,
       static_cast<int64_t>(std::time(nullptr)));
  std::string url = ep_.scheme + "://" + t.host + t.path;
  if (!req.query.empty()) {
    std::string q;
    for (const auto& [k, v] : req.query) {
      if (!q.empty()) q += '&';
      q += UriEncode(k, false) + "=" + UriEncode(v, false);
    }
    url += "?" + q;
  }

  CURL* c = static_cast<CURL*>(Acquire());
  if (c == nullptr) return Status::Internal("storage-s3: curl_easy_init failed");
  curl_easy_reset(c);
  struct curl_slist* hl = nullptr;
  for (const auto& [k, v] : headers) hl = curl_slist_append(hl, (k + ": " + v).c_str());
  hl = curl_slist_append(hl, "Expect:");  // no 100-continue round trip
  if (req.method == "PUT" || req.method == "POST") {
    hl = curl_slist_append(hl, ("Content-Length: " + std::to_string(req.body.size())).c_str());
  }
  *resp = S3Response();
  Transfer tr{resp, &body_fn};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!req.body.empty() || req.method == "PUT" || req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteCb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &tr);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &HeaderCb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &tr);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  // A transfer that moves nothing for 60 s is dead.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  if (req.timeout_ms > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout_ms));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, ep_.tls_verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, ep_.tls_verify ? 2L : 0L);
  if (!ep_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ep_.ca_file.c_str());
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hl);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  if (rc != CURLE_OK) {
    // A handle whose transfer failed may hold a broken connection: drop it.
    curl_easy_cleanup(c);
    if (tr.aborted) return Status::IO("storage-s3: " + req.method + " " + req.key + ": the reader stopped the transfer");
    *retryable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
                 rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT ||
                 rc == CURLE_PARTIAL_FILE;
    return Status::IO("storage-s3: " + req.method + " " + url + ": " +
                      (errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc))));
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  resp->status = code;
  Release(c);
  *retryable = code == 500 || code == 502 || code == 503 || code == 504;
  return {};
}

Status S3Client::Do(const S3Request& req, S3Response* resp, const BodyFn& body_fn) {
  const int attempts = body_fn ? 1 : 4;  // a streamed body cannot be replayed
  Status s;
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << (2 * (i - 1))));
    bool retryable = false;
    s = Once(req, resp, body_fn, &retryable);
    if (!retryable) return s;
  }
  return s;
}

}  // namespace berth::storage_s3
