#include "plugin/http_client.h"

#include <curl/curl.h>

#include <cstring>
#include <mutex>

#include "common/clock.h"
#include "common/strings.h"

namespace berth {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpResponse* resp;
  size_t max_body;
  bool overflow = false;
  const std::function<bool()>* cancelled;
};

size_t OnBody(char* p, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (t->resp->body.size() + len > t->max_body) {
    t->overflow = true;
    return 0;
  }
  t->resp->body.append(p, len);
  return len;
}

size_t OnHeader(char* p, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string_view line(p, len);
  if (line.substr(0, 5) == "HTTP/") {
    t->resp->headers.clear();  // a new response (after 100 Continue or a redirect)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->resp->headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                  std::string(Trim(line.substr(colon + 1))));
  }
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return (t->cancelled && *t->cancelled && (*t->cancelled)()) ? 1 : 0;
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

Status PerformHttpRequest(const HttpRequest& req, HttpResponse* resp, size_t max_body_bytes) {
  GlobalInit();
  CURL* c = curl_easy_init();
  if (c == nullptr) return Status::Internal("curl_easy_init failed");
  Transfer t{resp, max_body_bytes, false, &req.cancelled};
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  // curl adds "Expect: 100-continue" to large bodies; receivers do not need it.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout_ms > 0 ? req.timeout_ms : 30000));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (req.insecure_skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_blob ca{};
  if (!req.ca_pem.empty()) {
    ca.data = const_cast<char*>(req.ca_pem.data());
    ca.len = req.ca_pem.size();
    ca.flags = CURL_BLOB_COPY;
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  }
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (t.overflow) {
    return Status(Code::kTooLarge, "response body exceeds " + std::to_string(max_body_bytes) + " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status(Code::kDeadlineExceeded, "HTTP " + req.method + " " + req.url + " timed out");
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Status(Code::kUnavailable, "HTTP request cancelled");
  if (rc != CURLE_OK) {
    return Status(Code::kUnavailable,
                  "HTTP " + req.method + " " + req.url + ": " + curl_easy_strerror(rc));
  }
  resp->status = static_cast<int>(status);
  return {};
}

berth_status PerformPluginHttpRequest(const berth_call_ctx* call, const berth_http_request& in,
                                      berth_http_response& out, berth_sink* err) {
  auto str = [](berth_str s) { return std::string(s.ptr ? s.ptr : "", s.ptr ? s.len : 0); };
  HttpRequest req;
  req.method = str(in.method);
  if (req.method.empty()) req.method = "GET";
  req.url = str(in.url);
  for (size_t i = 0; i < in.n_headers && in.headers != nullptr; ++i) {
    req.headers.emplace_back(str(in.headers[i].name), str(in.headers[i].value));
  }
  req.body = str(in.body);
  req.timeout_ms = in.timeout_ms;
  req.insecure_skip_verify = (in.flags & BERTH_HTTP_INSECURE_SKIP_VERIFY) != 0;
  req.ca_pem = str(in.ca_pem);
  if (call != nullptr && call->deadline_unix_ns > 0) {
    int64_t left_ms = (call->deadline_unix_ns - NowUnixNanos()) / 1000000;
    if (left_ms <= 0) {
      static const char kMsg[] = "the call's deadline passed before the HTTP request was sent";
      if (err != nullptr && err->append != nullptr) err->append(err->ctx, kMsg, sizeof kMsg - 1);
      return BERTH_E_DEADLINE_EXCEEDED;
    }
    if (req.timeout_ms <= 0 || req.timeout_ms > left_ms) req.timeout_ms = left_ms;
  }
  if (call != nullptr && call->is_cancelled != nullptr) {
    req.cancelled = [call] { return call->is_cancelled(call->host_ctx) != 0; };
  }
  HttpResponse resp;
  Status s = PerformHttpRequest(req, &resp);
  if (!s.ok()) {
    if (err != nullptr && err->append != nullptr) err->append(err->ctx, s.message().data(), s.message().size());
    switch (s.code()) {
      case Code::kDeadlineExceeded: return BERTH_E_DEADLINE_EXCEEDED;
      case Code::kTooLarge: return BERTH_E_IO;  // the remote sent too much
      default: return BERTH_E_IO;
    }
  }
  out.status = resp.status;
  if (out.headers != nullptr && out.headers->add != nullptr) {
    for (const auto& [k, v] : resp.headers) {
      berth_status rc = out.headers->add(out.headers->ctx, {k.data(), k.size()}, {v.data(), v.size()});
      if (rc != BERTH_OK) return rc;
    }
  }
  if (out.body != nullptr && out.body->append != nullptr && !resp.body.empty()) {
    return out.body->append(out.body->ctx, resp.body.data(), resp.body.size());
  }
  return BERTH_OK;
}

}  // namespace berth
