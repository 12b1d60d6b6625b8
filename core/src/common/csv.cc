#include "common/csv.h"

namespace berth {

std::string CsvField(std::string_view value) {
  bool quote = !value.empty() && (value == "\\." || value.front() == ' ' || value.front() == '\t' ||
                                  value.find_first_of(",\"\r\n") != std::string_view::npos);
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string CsvRecord(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += CsvField(fields[i]);
  }
  out += '\n';
  return out;
}

std::string SanitizeCsvCell(std::string_view value) {
  if (value.empty()) return std::string();
  switch (value.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
    case '\n':
      return "'" + std::string(value);
    default:
      return std::string(value);
  }
}

}  // namespace berth
