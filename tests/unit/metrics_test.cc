#include "http/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace berth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Parses the exposition into "series -> value" and checks every line's syntax.
std::map<std::string, double> Samples(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*",?)*\})?) )"
      R"(([-+]?[0-9.eE+-]+|\+Inf|-Inf|NaN)$)");
  static const std::regex kComment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, kComment)) continue;
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "malformed exposition line: '" << line << "'";
      continue;
    }
    EXPECT_EQ(out.count(m[1].str()), 0u) << "duplicate series " << m[1];
    out[m[1].str()] = std::strtod(m[5].str().c_str(), nullptr);
  }
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  return out;
}

TEST(Metrics, EmptyRendering) {
  Metrics m;
  std::string text = m.RenderPrometheus();
  auto s = Samples(text);
  EXPECT_EQ(s.at("berth_http_request_bytes_total"), 0);
  EXPECT_EQ(s.at("berth_http_response_bytes_total"), 0);
  EXPECT_EQ(s.at("berth_http_requests_in_flight"), 0);
  EXPECT_THAT(text, HasSubstr("# TYPE berth_http_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE berth_http_request_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE berth_http_requests_in_flight gauge\n"));
}

TEST(Metrics, RequestCountersAndBytes) {
  Metrics m;
  m.ObserveRequest("v2_blob", "GET", 200, 0.003, 10, 1000);
  m.ObserveRequest("v2_blob", "GET", 200, 0.004, 5, 500);
  m.ObserveRequest("v2_blob", "HEAD", 404, 0.001, 0, 0);
  m.ObserveRequest("v2_manifest", "PUT", 201, 0.2, 700, 0);
  auto s = Samples(m.RenderPrometheus());
  EXPECT_EQ(s.at(R"(berth_http_requests_total{route="v2_blob",method="GET",status="200"})"), 2);
  EXPECT_EQ(s.at(R"(berth_http_requests_total{route="v2_blob",method="HEAD",status="404"})"), 1);
  EXPECT_EQ(s.at(R"(berth_http_requests_total{route="v2_manifest",method="PUT",status="201"})"), 1);
  EXPECT_EQ(s.at("berth_http_request_bytes_total"), 715);
  EXPECT_EQ(s.at("berth_http_response_bytes_total"), 1500);
  EXPECT_EQ(s.at(R"(berth_http_request_duration_seconds_count{route="v2_blob"})"), 3);
  EXPECT_NEAR(s.at(R"(berth_http_request_duration_seconds_sum{route="v2_blob"})"), 0.008, 1e-12);
  EXPECT_EQ(s.at(R"(berth_http_request_duration_seconds_count{route="v2_manifest"})"), 1);
}

// Arbitrary method tokens (or the bytes of a TLS handshake parsed as one)
// share one series instead of adding one per request.
TEST(Metrics, UnknownMethodsShareOneLabel) {
  Metrics m;
  m.ObserveRequest("bad_request", "\x16\x03\x01", 400, 0.001, 0, 0);
  m.ObserveRequest("bad_request", "FROBNICATE", 400, 0.001, 0, 0);
  m.ObserveRequest("bad_request", "get", 400, 0.001, 0, 0);
  auto s = Samples(m.RenderPrometheus());
  EXPECT_EQ(s.at(R"(berth_http_requests_total{route="bad_request",method="other",status="400"})"), 3);
  size_t series = 0;
  for (const auto& kv : s) series += kv.first.rfind("berth_http_requests_total{", 0) == 0 ? 1 : 0;
  EXPECT_EQ(series, 1u);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Metrics m;
  const double observations[] = {0.0001, 0.0005, 0.0007, 0.003, 0.05, 0.7, 3, 100};
  for (double v : observations) m.ObserveRequest("r", "GET", 200, v, 0, 0);
  auto s = Samples(m.RenderPrometheus());
  double previous = 0;
  for (double le : Metrics::kLatencyBuckets) {
    size_t want = 0;
    for (double v : observations) want += v <= le ? 1 : 0;
    std::ostringstream key;
    // Bucket bounds render as their shortest decimal form: le="0.1", not 0.10000000000000001.
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", le);
    key << "berth_http_request_duration_seconds_bucket{route=\"r\",le=\"" << buf << "\"}";
    ASSERT_EQ(s.count(key.str()), 1u) << "missing " << key.str();
    EXPECT_EQ(s.at(key.str()), want) << key.str();
    EXPECT_GE(s.at(key.str()), previous);
    previous = s.at(key.str());
  }
  EXPECT_EQ(s.at(R"(berth_http_request_duration_seconds_bucket{route="r",le="+Inf"})"), 8);
  EXPECT_EQ(s.at(R"(berth_http_request_duration_seconds_count{route="r"})"), 8);
  // An observation exactly on a bound falls in that bucket.
  EXPECT_EQ(s.at(R"(berth_http_request_duration_seconds_bucket{route="r",le="0.0005"})"), 2);
}

TEST(Metrics, FloatValuesRenderInShortestForm) {
  Metrics m;
  m.ObserveRequest("r", "GET", 200, 0.1, 0, 0);
  std::string text = m.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("le=\"0.1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("berth_http_request_duration_seconds_sum{route=\"r\"} 0.1\n"));
  EXPECT_THAT(text, HasSubstr("le=\"60\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("0000000000")));
}

TEST(Metrics, LabelValuesAreEscaped) {
  Metrics m;
  m.ObserveRequest("a\"b\\c\nd", "GET", 200, 0.001, 0, 0);
  std::string text = m.RenderPrometheus();
  auto s = Samples(text);  // also checks that every line stays well-formed
  EXPECT_EQ(s.at(R"(berth_http_requests_total{route="a\"b\\c\nd",method="GET",status="200"})"), 1);
}

TEST(Metrics, InFlightGauge) {
  Metrics m;
  m.AddInFlight(3);
  m.AddInFlight(-1);
  EXPECT_EQ(m.in_flight(), 2);
  EXPECT_EQ(Samples(m.RenderPrometheus()).at("berth_http_requests_in_flight"), 2);
}

TEST(Metrics, GaugeFunctionsAreEvaluatedAtScrape) {
  Metrics m;
  double value = 1.5;
  m.AddGaugeFunction("berth_queue_depth", "Jobs waiting.", [&] { return value; });
  std::string text = m.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("# HELP berth_queue_depth Jobs waiting.\n# TYPE berth_queue_depth gauge\n"));
  EXPECT_EQ(Samples(text).at("berth_queue_depth"), 1.5);
  value = 7;
  EXPECT_EQ(Samples(m.RenderPrometheus()).at("berth_queue_depth"), 7);
}

TEST(Metrics, NamedCountersAndGauges) {
  Metrics m;
  uint32_t c = m.Define("berth_plugin_calls_total", "Calls.", true);
  uint32_t g = m.Define("berth_plugin_open", "Open things.", false);
  EXPECT_NE(c, g);
  EXPECT_EQ(m.Define("berth_plugin_calls_total", "Again.", true), c);  // same name, same handle
  m.Add(c, 2);
  m.Add(c, 3);
  m.Set(g, 10);
  m.Add(g, -4);
  m.Add(12345, 1);  // unknown handles are ignored
  m.Set(12345, 1);
  std::string text = m.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("# TYPE berth_plugin_calls_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE berth_plugin_open gauge\n"));
  auto s = Samples(text);
  EXPECT_EQ(s.at("berth_plugin_calls_total"), 5);
  EXPECT_EQ(s.at("berth_plugin_open"), 6);
}

TEST(Metrics, ConcurrentObservations) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 2000; ++i) m.ObserveRequest("r", "GET", 200, 0.001, 1, 2);
    });
  }
  std::string during = m.RenderPrometheus();  // rendering while observing must be safe
  for (auto& t : threads) t.join();
  auto s = Samples(m.RenderPrometheus());
  EXPECT_EQ(s.at(R"(berth_http_requests_total{route="r",method="GET",status="200"})"), 8000);
  EXPECT_EQ(s.at("berth_http_request_bytes_total"), 8000);
  EXPECT_EQ(s.at("berth_http_response_bytes_total"), 16000);
  EXPECT_FALSE(during.empty());
}

}  // namespace
}  // namespace berth
