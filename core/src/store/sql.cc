#include "store/sql.h"

#include <chrono>
#include <thread>

#include "common/strings.h"

namespace berth {

int64_t SqlRow::Int(size_t i) const {
  const SqlValue& v = v_.at(i);
  if (auto* p = std::get_if<int64_t>(&v)) return *p;
  if (auto* s = std::get_if<std::string>(&v)) return ParseInt64(*s).value_or(0);
  return 0;
}

std::string SqlRow::Text(size_t i) const {
  const SqlValue& v = v_.at(i);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  return {};
}

std::string Placeholders(size_t first, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? ", $" : "$") + std::to_string(first + i);
  return s;
}

std::string BindList(const std::vector<SqlValue>& values, std::vector<SqlValue>* params) {
  std::string s = Placeholders(params->size() + 1, values.size());
  params->insert(params->end(), values.begin(), values.end());
  return s;
}

Status RunInTransaction(SqlDatabase& db, bool write,
                        const std::function<Status(SqlTransaction&)>& fn) {
  Status last;
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5 << attempt));
    auto tx = db.Begin(write);
    if (!tx.ok()) {
      last = tx.status();
      if (last.code() == Code::kUnavailable) continue;
      return last;
    }
    last = fn(**tx);
    if (last.ok()) last = (*tx)->Commit();
    if (last.code() != Code::kUnavailable) return last;
  }
  return last;
}

}  // namespace berth
