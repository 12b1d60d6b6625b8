// Status assertions and small value makers shared by the unit and store
// suites.
#ifndef BERTH_TESTS_UNIT_SUPPORT_STATUS_TESTING_H_
#define BERTH_TESTS_UNIT_SUPPORT_STATUS_TESTING_H_

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "common/digest.h"
#include "common/status.h"

namespace berth::testing_support {

inline const Status& StatusOf(const Status& s) { return s; }
template <class T>
const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

// The value, or T{} after a recorded failure.
template <class T>
T Must(StatusOr<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : T{};
}

// A sha256 digest string made from a seed.
inline std::string Dg(const std::string& seed) {
  return Digest::Of(DigestAlgorithm::kSha256, seed).ToString();
}

}  // namespace berth::testing_support

#define BERTH_EXPECT_STATUS_OK_(fail, expr)                                           \
  do {                                                                                \
    auto&& berth_ok_ = (expr);                                                        \
    fail(berth_ok_.ok()) << #expr << ": "                                             \
                         << ::berth::testing_support::StatusOf(berth_ok_).ToString(); \
  } while (0)
#define ASSERT_OK(expr) BERTH_EXPECT_STATUS_OK_(ASSERT_TRUE, expr)
#define EXPECT_OK(expr) BERTH_EXPECT_STATUS_OK_(EXPECT_TRUE, expr)

#endif  // BERTH_TESTS_UNIT_SUPPORT_STATUS_TESTING_H_
