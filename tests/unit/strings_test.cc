#include "common/strings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth {
namespace {

using ::testing::ElementsAre;

TEST(Split, Basic) {
  EXPECT_THAT(Split("a,b,c", ','), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Split("abc", ','), ElementsAre("abc"));
}

TEST(Split, KeepsEmptyFields) {
  EXPECT_THAT(Split("", ','), ElementsAre(""));
  EXPECT_THAT(Split(",", ','), ElementsAre("", ""));
  EXPECT_THAT(Split("a,,b", ','), ElementsAre("a", "", "b"));
  EXPECT_THAT(Split(",a,", ','), ElementsAre("", "a", ""));
  EXPECT_THAT(Split("/usr/lib:/opt::", ':'), ElementsAre("/usr/lib", "/opt", "", ""));
}

TEST(Trim, RemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim("a"), "a");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim(" \t\n "), "");
  EXPECT_EQ(Trim("\va\f"), "a");
  // Non-ASCII bytes are not whitespace.
  EXPECT_EQ(Trim("\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");
}

TEST(ToLower, AsciiOnly) {
  EXPECT_EQ(ToLower("AbC-1_Z"), "abc-1_z");
  EXPECT_EQ(ToLower(""), "");
  EXPECT_EQ(ToLower("\xc3\x89"), "\xc3\x89");  // bytes >= 0x80 untouched
}

TEST(EqualsIgnoreCase, Basic) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abcd"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abd"));
  EXPECT_FALSE(EqualsIgnoreCase("a-b", "a_b"));
}

TEST(ParseInt64, AcceptsWholeBase10Integers) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("123"), 123);
  EXPECT_EQ(ParseInt64("-5"), -5);
  EXPECT_EQ(ParseInt64("007"), 7);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt64("-9223372036854775808"), INT64_MIN);
}

TEST(ParseInt64, RejectsEverythingElse) {
  for (const char* s : {"", " 1", "1 ", "12a", "a12", "1.0", "1e3", "0x10", "+1", "-",
                        "9223372036854775808", "-9223372036854775809",
                        "99999999999999999999999"}) {
    EXPECT_EQ(ParseInt64(s), std::nullopt) << "'" << s << "'";
  }
}

TEST(UrlDecode, DecodesPercentEscapes) {
  EXPECT_EQ(UrlDecode("a%20b"), "a b");
  EXPECT_EQ(UrlDecode("%2F%2f"), "//");
  EXPECT_EQ(UrlDecode("%41%42c"), "ABc");
  EXPECT_EQ(UrlDecode(""), "");
  EXPECT_EQ(UrlDecode("plain"), "plain");
  EXPECT_EQ(UrlDecode("%00"), std::string(1, '\0'));
  EXPECT_EQ(UrlDecode("%ff"), "\xff");
}

TEST(UrlDecode, KeepsPlus) { EXPECT_EQ(UrlDecode("a+b"), "a+b"); }

TEST(UrlDecode, RejectsMalformedEscapes) {
  for (const char* s : {"%", "%2", "a%2", "%zz", "%2g", "%g2", "abc%", "%%41"}) {
    EXPECT_EQ(UrlDecode(s), std::nullopt) << "'" << s << "'";
  }
}

TEST(UrlEncode, KeepsUnreservedOnly) {
  EXPECT_EQ(UrlEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(UrlEncode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
  EXPECT_EQ(UrlEncode("sha256:ab"), "sha256%3Aab");
  EXPECT_EQ(UrlEncode("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(UrlEncode(std::string(1, '\0')), "%00");
  EXPECT_EQ(UrlEncode("+"), "%2B");
}

TEST(UrlEncode, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string enc = UrlEncode(all);
  for (char c : enc) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
              c == '~' || c == '%';
    EXPECT_TRUE(ok) << "unexpected character in encoding: " << static_cast<int>(c);
  }
  EXPECT_EQ(UrlDecode(enc), all);
}

TEST(JsonQuote, EscapesWhatJsonRequires) {
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonQuote("\n\r\t"), R"("\n\r\t")");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(JsonQuote(std::string(1, '\0')), R"("\u0000")");
  EXPECT_EQ(JsonQuote("\xc3\xa9/"), "\"\xc3\xa9/\"");  // UTF-8 and '/' pass through
}

TEST(JsonQuote, ParsesBackToTheInput) {
  std::string all;
  for (int c = 0; c < 128; ++c) all.push_back(static_cast<char>(c));
  all += "\xe2\x82\xac";  // a multi-byte character
  auto parsed = nlohmann::json::parse(JsonQuote(all));
  ASSERT_TRUE(parsed.is_string());
  EXPECT_EQ(parsed.get<std::string>(), all);
}

TEST(AppendJsonEscaped, Appends) {
  std::string out = "prefix:";
  AppendJsonEscaped(&out, "a\"");
  EXPECT_EQ(out, "prefix:a\\\"");
}

}  // namespace
}  // namespace berth
