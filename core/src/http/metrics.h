// Metrics: counters, gauges and the request latency histogram, rendered in
// Prometheus text format on /metrics.
#ifndef BERTH_HTTP_METRICS_H_
#define BERTH_HTTP_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

class Metrics {
 public:
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60};

  void ObserveRequest(std::string_view route, std::string_view method, int status,
                      double seconds, int64_t bytes_in, int64_t bytes_out);
  void AddInFlight(int delta) { in_flight_ += delta; }
  int64_t in_flight() const { return in_flight_.load(); }
  // A gauge computed when /metrics is scraped.
  void AddGaugeFunction(std::string name, std::string help, std::function<double()> fn);
  // Named counters and gauges (plugins, job queue, ...). Returns a handle.
  uint32_t Define(std::string name, std::string help, bool is_counter);
  void Add(uint32_t handle, double value);
  void Set(uint32_t handle, double value);

  std::string RenderPrometheus() const;

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  struct Named {
    std::string name, help;
    bool is_counter;
    double value = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> requests_;  // "route\0method\0status"
  std::map<std::string, Histogram> latency_;  // by route
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  std::atomic<int64_t> in_flight_{0};
  std::vector<std::tuple<std::string, std::string, std::function<double()>>> gauges_;
  std::vector<Named> named_;
};

}  // namespace berth

#endif  // BERTH_HTTP_METRICS_H_
