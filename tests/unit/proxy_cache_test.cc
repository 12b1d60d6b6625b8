// Harbor's mapping of a proxy project's repository to its upstream
// repository, Docker Hub's "library/" rule included; the proxy_cache config.
#include <gtest/gtest.h>

#include <chrono>

#include "config/config.h"
#include "proxy/proxy_cache_controller.h"
#include "common/bandwidth_limiter.h"

namespace berth {
namespace {

TEST(UpstreamRepository, DropsTheProject) {
  EXPECT_EQ(UpstreamRepository("cache/nginx", "docker-registry"), "nginx");
  EXPECT_EQ(UpstreamRepository("cache/team/app", "docker-registry"), "team/app");
  EXPECT_EQ(UpstreamRepository("cache/a/b/c", "harbor"), "a/b/c");
}

TEST(UpstreamRepository, DockerHubSingleComponentsAreLibraryImages) {
  EXPECT_EQ(UpstreamRepository("hub/nginx", "docker-hub"), "library/nginx");
  EXPECT_EQ(UpstreamRepository("hub/library/nginx", "docker-hub"), "library/nginx");
  EXPECT_EQ(UpstreamRepository("hub/bitnami/redis", "docker-hub"), "bitnami/redis");
  // Only Docker Hub has the rule.
  EXPECT_EQ(UpstreamRepository("cache/nginx", "harbor"), "nginx");
}

TEST(ProxyCacheConfig, IntervalDefaultsToEveryPullAndIsBounded) {
  auto c = Config::Parse("", "test");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->proxy_cache.manifest_check_interval_s, 0);
  c = Config::Parse("proxy_cache:\n  manifest_check_interval_s: 300\n", "test");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->proxy_cache.manifest_check_interval_s, 300);
  EXPECT_FALSE(Config::Parse("proxy_cache:\n  manifest_check_interval_s: -1\n", "test").ok());
  EXPECT_FALSE(Config::Parse("proxy_cache:\n  interval: 3\n", "test").ok());
}

TEST(ProxyCacheConfig, FillDelayDefaultsToTenSecondsAndIsBounded) {
  auto c = Config::Parse("", "test");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->proxy_cache.fill_delay_s, 10);
  c = Config::Parse("proxy_cache:\n  fill_delay_s: 0\n", "test");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->proxy_cache.fill_delay_s, 0);
  EXPECT_FALSE(Config::Parse("proxy_cache:\n  fill_delay_s: -1\n", "test").ok());
  EXPECT_FALSE(Config::Parse("proxy_cache:\n  fill_delay_s: 90000\n", "test").ok());
}

TEST(BandwidthLimiter, KeepsTheAverageWithinTheLimit) {
  BandwidthLimiter unlimited(0);
  EXPECT_FALSE(unlimited.limited());
  BandwidthLimiter limiter(100);  // 102400 bytes/s
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) limiter.Took(10240);  // 40 KiB: 0.4 s
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(ms, 380);
  // A stop request ends the wait at once.
  BandwidthLimiter stopped(1);
  t0 = std::chrono::steady_clock::now();
  stopped.Took(1 << 20, [] { return true; });
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
           .count();
  EXPECT_LT(ms, 100);
}

}  // namespace
}  // namespace berth
