// ListQuery: Harbor's list conventions (page, page_size, q, sort), parsed
// from request parameters and turned into parameterised SQL. Only
// whitelisted keys reach SQL; every value is a bound parameter.
#ifndef BERTH_STORE_LIST_QUERY_H_
#define BERTH_STORE_LIST_QUERY_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql.h"

namespace berth {

struct QueryTerm {
  enum class Op { kExact, kFuzzy, kRange, kAnyOf, kAllOf };
  std::string key;
  Op op = Op::kExact;
  std::vector<std::string> values;  // range: {min, max}, either may be ""
};

struct ListQuery {
  int64_t page = 1;
  int64_t page_size = 10;
  std::vector<QueryTerm> terms;
  std::vector<std::pair<std::string, bool>> sort;  // key, descending
  int64_t offset() const { return (page - 1) * page_size; }
};

// Parses Harbor's q syntax: comma-separated k=v, k=~v, k=[min~max],
// k={a b c}, k=(a b c). The whole string is URL-decoded by the caller.
StatusOr<std::vector<QueryTerm>> ParseQ(std::string_view q);
// LIKE pattern (ESCAPE '\') for a fuzzy match of `v`: % and _ in the value
// match themselves.
std::string LikePattern(const std::string& v);
// "a,-b" -> {a asc, b desc}.
StatusOr<std::vector<std::pair<std::string, bool>>> ParseSort(std::string_view sort);

// A column a query key maps to, and how values compare.
struct QueryColumn {
  std::string sql;         // e.g. "u.username"
  bool numeric = false;    // values bound as integers
};

// One page of a list, with the total across all pages.
template <class T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;
};

struct SqlFilter {
  std::string where;  // " AND ..." clauses (empty when no terms)
  std::string order_by;  // " ORDER BY ..." (falls back to `default_order`)
  std::vector<SqlValue> params;
};

// Builds the filter. Unknown keys are a kInvalidArgument naming the key.
// Placeholders start at $first_param.
StatusOr<SqlFilter> BuildSqlFilter(const ListQuery& q,
                                   const std::map<std::string, QueryColumn>& columns,
                                   const std::string& default_order, int first_param);

struct RowPage {
  std::vector<SqlRow> rows;
  int64_t total = 0;
};

// Runs "SELECT <select> FROM <from> WHERE <base_where> <q's terms> ORDER BY
// ... LIMIT/OFFSET" and the matching COUNT(*) in one read transaction.
// base_params fill $1..$n of base_where; q's terms follow.
StatusOr<RowPage> RunListQuery(SqlDatabase& db, const std::string& select,
                               const std::string& from, const std::string& base_where,
                               const std::vector<SqlValue>& base_params, const ListQuery& q,
                               const std::map<std::string, QueryColumn>& columns,
                               const std::string& default_order);

}  // namespace berth

#endif  // BERTH_STORE_LIST_QUERY_H_
