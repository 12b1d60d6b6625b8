#include "oci/v2_util.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace berth {
namespace {

void ExpectRange(const StatusOr<std::optional<ByteRange>>& r, int64_t start, int64_t end,
                 const std::string& what) {
  ASSERT_TRUE(r.ok()) << what << ": " << r.status().ToString();
  ASSERT_TRUE(r->has_value()) << what << ": no range";
  EXPECT_EQ((*r)->start, start) << what;
  EXPECT_EQ((*r)->end, end) << what;
}

void ExpectNoRange(const StatusOr<std::optional<ByteRange>>& r, const std::string& what) {
  ASSERT_TRUE(r.ok()) << what << ": " << r.status().ToString();
  EXPECT_FALSE(r->has_value()) << what << ": got " << (*r)->start << "-" << (*r)->end;
}

TEST(ParseContentRange, Absent) {
  ExpectNoRange(ParseContentRange(""), "empty");
  ExpectNoRange(ParseContentRange("   "), "blank");
}

TEST(ParseContentRange, AcceptedForms) {
  ExpectRange(ParseContentRange("0-99"), 0, 99, "bare");
  ExpectRange(ParseContentRange("bytes=0-99"), 0, 99, "bytes=");
  ExpectRange(ParseContentRange("bytes 100-199/200"), 100, 199, "bytes with total");
  ExpectRange(ParseContentRange("100-199/*"), 100, 199, "unknown total");
  ExpectRange(ParseContentRange(" 5-5 "), 5, 5, "one byte, padded");
  ExpectRange(ParseContentRange("0-0"), 0, 0, "first byte");
}

TEST(ParseContentRange, Malformed) {
  for (const char* h : {"abc", "0", "-5", "5-", "a-b", "0-99x", "1-2-3", "bytes=", "bytes=-",
                        "0x1-2", "+1-2", "1--2"}) {
    auto r = ParseContentRange(h);
    ASSERT_FALSE(r.ok()) << "accepted '" << h << "'";
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << h;
    EXPECT_EQ(r.status().api_code(), "BLOB_UPLOAD_INVALID") << h;
  }
}

TEST(ParseContentRange, EndBeforeStartIsUnsatisfiable) {
  auto r = ParseContentRange("10-5");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kRangeNotSatisfiable);
  EXPECT_EQ(r.status().api_code(), "BLOB_UPLOAD_INVALID");
}

TEST(ParseRangeHeader, IgnoredWhenAbsentOrNotASingleByteRange) {
  for (const char* h : {"", "  ", "items=0-5", "bytes 0-5", "bytes=0-9,20-29", "bytes=abc",
                        "bytes=", "bytes=-", "bytes=5-2", "bytes=-x", "bytes=x-", "bytes=1-x",
                        "bytes=-1-2"}) {
    ExpectNoRange(ParseRangeHeader(h, 100), std::string("'") + h + "'");
  }
}

TEST(ParseRangeHeader, SingleRanges) {
  ExpectRange(ParseRangeHeader("bytes=0-9", 100), 0, 9, "first ten");
  ExpectRange(ParseRangeHeader("bytes=10-", 100), 10, 99, "open end");
  ExpectRange(ParseRangeHeader("bytes=-10", 100), 90, 99, "suffix");
  ExpectRange(ParseRangeHeader("bytes=-200", 100), 0, 99, "suffix longer than the blob");
  ExpectRange(ParseRangeHeader("bytes=50-500", 100), 50, 99, "end clamped");
  ExpectRange(ParseRangeHeader("bytes=99-99", 100), 99, 99, "last byte");
  ExpectRange(ParseRangeHeader("bytes= 0 - 9 ", 100), 0, 9, "spaces");
  ExpectRange(ParseRangeHeader("bytes=0-0", 1), 0, 0, "one-byte blob");
}

TEST(ParseRangeHeader, Unsatisfiable) {
  struct Case {
    const char* header;
    int64_t size;
  };
  for (const Case& c : {Case{"bytes=100-", 100}, Case{"bytes=100-200", 100},
                        Case{"bytes=-0", 100}, Case{"bytes=0-", 0}, Case{"bytes=-5", 0},
                        Case{"bytes=0-0", 0}}) {
    auto r = ParseRangeHeader(c.header, c.size);
    ASSERT_FALSE(r.ok()) << c.header << " size " << c.size;
    EXPECT_EQ(r.status().code(), Code::kRangeNotSatisfiable) << c.header;
  }
}

TEST(UploadRange, Format) {
  EXPECT_EQ(UploadRange(0), "0-0");
  EXPECT_EQ(UploadRange(1), "0-0");
  EXPECT_EQ(UploadRange(10), "0-9");
  EXPECT_EQ(UploadRange(int64_t{1} << 40), "0-1099511627775");
}

}  // namespace
}  // namespace berth
