// Harbor's mapping of a proxy project's repository to its upstream
// repository, Docker Hub's "library/" rule included; the proxy_cache config.
#include <gtest/gtest.h>

#include "config/config.h"
#include "proxy/proxy_cache_controller.h"

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

}  // namespace
}  // namespace berth
