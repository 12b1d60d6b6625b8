// Helpers for the stores' SELECTs: one column list per record, spelled
// into each query with SelectSql, and "read one optional row" in a
// transaction (the caller's or a read transaction of its own).
#ifndef BERTH_STORE_ROW_QUERY_H_
#define BERTH_STORE_ROW_QUERY_H_

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "store/sql.h"

namespace berth {

// "SELECT <columns> <rest>": each store keeps one column list per record
// (next to the function that reads a row of it) and spells its SELECTs with
// this, so the list is never written out twice.
inline std::string SelectSql(std::string_view columns, std::string_view rest) {
  std::string sql = "SELECT ";
  sql.append(columns).append(" ").append(rest);
  return sql;
}

// The first row of a query mapped by `read` (SqlRow -> record); nullopt when
// the query returns no row. In the caller's transaction...
template <class Read>
auto QueryOptionalRow(SqlTransaction& tx, std::string_view sql, const std::vector<SqlValue>& params,
                      Read&& read)
    -> StatusOr<std::optional<std::decay_t<std::invoke_result_t<Read&, const SqlRow&>>>> {
  using Record = std::decay_t<std::invoke_result_t<Read&, const SqlRow&>>;
  auto r = tx.Exec(sql, params);
  if (!r.ok()) return r.status();
  if (r->rows.empty()) return std::optional<Record>();
  return std::optional<Record>(read(r->rows.front()));
}

// ...or in a read transaction of its own.
template <class Read>
auto QueryOptionalRow(SqlDatabase& db, std::string_view sql, const std::vector<SqlValue>& params,
                      Read&& read)
    -> StatusOr<std::optional<std::decay_t<std::invoke_result_t<Read&, const SqlRow&>>>> {
  using Record = std::decay_t<std::invoke_result_t<Read&, const SqlRow&>>;
  std::optional<Record> out;
  Status s = RunInTransaction(db, false, [&](SqlTransaction& tx) -> Status {
    auto row = QueryOptionalRow(tx, sql, params, read);
    if (!row.ok()) return row.status();
    out = std::move(*row);
    return {};
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace berth

#endif  // BERTH_STORE_ROW_QUERY_H_
