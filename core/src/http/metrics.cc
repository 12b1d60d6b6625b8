#include "http/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace berth {

namespace {
// Shortest text that reads back as the same double: le="0.1", not
// le="0.10000000000000001" (what %.17g prints).
std::string Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  if (ec != std::errc()) {
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }
  return std::string(buf, end);
}
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
// The method label takes the request's method only when it is a standard
// one: any other token a client sends would add a series per request.
std::string_view MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",    "POST",    "PUT",  "PATCH",
                                                "DELETE", "OPTIONS", "CONNECT", "TRACE"};
  for (std::string_view m : kKnown) {
    if (method == m) return m;
  }
  return "other";
}
}  // namespace

void Metrics::ObserveRequest(std::string_view route, std::string_view method, int status,
                             double seconds, int64_t bytes_in, int64_t bytes_out) {
  method = MethodLabel(method);
  std::string key;
  key.reserve(route.size() + method.size() + 6);
  key.append(route).push_back('\0');
  key.append(method).push_back('\0');
  key.append(std::to_string(status));
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[key];
  Histogram& h = latency_[std::string(route)];
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
  bytes_in_ += static_cast<uint64_t>(bytes_in);
  bytes_out_ += static_cast<uint64_t>(bytes_out);
}

void Metrics::AddGaugeFunction(std::string name, std::string help, std::function<double()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.emplace_back(std::move(name), std::move(help), std::move(fn));
}

uint32_t Metrics::Define(std::string name, std::string help, bool is_counter) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < named_.size(); ++i) {
    if (named_[i].name == name) return static_cast<uint32_t>(i);
  }
  named_.push_back({std::move(name), std::move(help), is_counter, 0});
  return static_cast<uint32_t>(named_.size() - 1);
}

void Metrics::Add(uint32_t handle, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (handle < named_.size()) named_[handle].value += value;
}

void Metrics::Set(uint32_t handle, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (handle < named_.size()) named_[handle].value = value;
}

std::string Metrics::RenderPrometheus() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  out += "# HELP berth_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE berth_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    size_t a = key.find('\0'), b = key.find('\0', a + 1);
    out += "berth_http_requests_total{route=\"" + Escape(key.substr(0, a)) + "\",method=\"" +
           Escape(key.substr(a + 1, b - a - 1)) + "\",status=\"" + key.substr(b + 1) + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP berth_http_request_duration_seconds Request latency by route.\n";
  out += "# TYPE berth_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    std::string r = Escape(route);
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      out += "berth_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"" +
             Num(kLatencyBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    out += "berth_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "berth_http_request_duration_seconds_sum{route=\"" + r + "\"} " + Num(h.sum) + "\n";
    out += "berth_http_request_duration_seconds_count{route=\"" + r + "\"} " +
           std::to_string(h.count) + "\n";
  }
  out += "# HELP berth_http_request_bytes_total Request body bytes received.\n";
  out += "# TYPE berth_http_request_bytes_total counter\n";
  out += "berth_http_request_bytes_total " + std::to_string(bytes_in_) + "\n";
  out += "# HELP berth_http_response_bytes_total Response body bytes sent.\n";
  out += "# TYPE berth_http_response_bytes_total counter\n";
  out += "berth_http_response_bytes_total " + std::to_string(bytes_out_) + "\n";
  out += "# HELP berth_http_requests_in_flight Requests being served.\n";
  out += "# TYPE berth_http_requests_in_flight gauge\n";
  out += "berth_http_requests_in_flight " + std::to_string(in_flight_.load()) + "\n";
  for (const auto& [name, help, fn] : gauges_) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
    out += name + " " + Num(fn()) + "\n";
  }
  for (const auto& n : named_) {
    out += "# HELP " + n.name + " " + n.help + "\n# TYPE " + n.name +
           (n.is_counter ? " counter\n" : " gauge\n");
    out += n.name + " " + Num(n.value) + "\n";
  }
  return out;
}

}  // namespace berth
