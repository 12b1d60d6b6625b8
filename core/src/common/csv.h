// CSV records as RFC 4180 quotes them (a field with a comma, a quote, CR
// or LF, or one that starts with a space, is enclosed in quotes and its
// quotes doubled; records end with "\n" as Go's encoding/csv writes them,
// which Harbor's exports use), and the formula-injection guard for cells
// whose text comes from outside (a scanner's package names, versions...).
#ifndef BERTH_COMMON_CSV_H_
#define BERTH_COMMON_CSV_H_

#include <string>
#include <string_view>
#include <vector>

namespace berth {

// One field, quoted when it must be.
std::string CsvField(std::string_view value);
// The fields joined by commas, ending with "\n".
std::string CsvRecord(const std::vector<std::string>& fields);
// A cell a spreadsheet would read as a formula (its first character is
// = + - @ tab CR or LF) gets a leading apostrophe, as Harbor's export does;
// anything else, and the empty cell, is unchanged.
std::string SanitizeCsvCell(std::string_view value);

}  // namespace berth

#endif  // BERTH_COMMON_CSV_H_
