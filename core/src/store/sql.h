// SqlDatabase: the narrow SQL interface the stores are written against.
//
// SQL is written once with $1, $2, ... placeholders; the SQLite backend
// rewrites them. Only code under core/src/store/ uses this header.
#ifndef BERTH_STORE_SQL_H_
#define BERTH_STORE_SQL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace berth {

// NULL, integer or text.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;

inline SqlValue SqlNull() { return std::monostate{}; }
inline SqlValue SqlText(std::string_view s) { return std::string(s); }
inline SqlValue SqlInt(int64_t v) { return v; }

class SqlRow {
 public:
  explicit SqlRow(std::vector<SqlValue> v) : v_(std::move(v)) {}
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(v_.at(i)); }
  int64_t Int(size_t i) const;        // NULL -> 0; text parsed
  std::string Text(size_t i) const;   // NULL -> ""; integers formatted
  size_t size() const { return v_.size(); }

 private:
  std::vector<SqlValue> v_;
};

struct SqlResult {
  std::vector<SqlRow> rows;
  int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
};

enum class SqlDialect { kSqlite, kPostgres };

// One transaction on one pooled connection. Destroying it without Commit()
// rolls back. Not thread-safe.
class SqlTransaction {
 public:
  virtual ~SqlTransaction() = default;
  // Errors: kConflict for unique/foreign-key violations, kUnavailable for
  // transient contention (busy, serialization failure, deadlock).
  virtual StatusOr<SqlResult> Exec(std::string_view sql,
                                   const std::vector<SqlValue>& params = {}) = 0;
  virtual Status Commit() = 0;
};

// Thread-safe; owns a pool of connections.
class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  virtual SqlDialect dialect() const = 0;
  // `write` transactions take the write lock up front where the backend needs
  // it (SQLite's BEGIN IMMEDIATE).
  virtual StatusOr<std::unique_ptr<SqlTransaction>> Begin(bool write) = 0;
};

// "$first, $first+1, ..." for n parameters (an IN list).
std::string Placeholders(size_t first, size_t n);
// Appends `values` to `params` and returns their placeholders.
std::string BindList(const std::vector<SqlValue>& values, std::vector<SqlValue>* params);

// Runs fn in a transaction and commits it, retrying on kUnavailable.
Status RunInTransaction(SqlDatabase& db, bool write,
                        const std::function<Status(SqlTransaction&)>& fn);

}  // namespace berth

#endif  // BERTH_STORE_SQL_H_
