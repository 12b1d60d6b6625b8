#include "store/list_query.h"

#include "common/strings.h"

namespace berth {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }

std::string Unquote(std::string_view v) {
  v = Trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return std::string(v);
}

std::vector<std::string> Words(std::string_view inner) {
  std::vector<std::string> out;
  for (auto& w : Split(inner, ' ')) {
    if (!Trim(w).empty()) out.push_back(Unquote(w));
  }
  return out;
}

}  // namespace

std::string LikePattern(const std::string& v) {
  std::string out = "%";
  for (char c : v) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

StatusOr<std::vector<QueryTerm>> ParseQ(std::string_view q) {
  std::vector<QueryTerm> out;
  if (Trim(q).empty()) return out;
  // Split on commas outside of [] {} () and quotes.
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  bool quoted = false;
  for (char c : q) {
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == '[' || c == '{' || c == '(')) ++depth;
    // Never below zero: a stray closer in one value must not swallow the
    // commas that separate the terms after it.
    if (!quoted && (c == ']' || c == '}' || c == ')') && depth > 0) --depth;
    if (c == ',' && depth == 0 && !quoted) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  // An open quote would have swallowed every term after it.
  if (quoted) return Bad("unterminated quote in q");
  parts.push_back(cur);
  for (const auto& part : parts) {
    size_t eq = part.find('=');
    if (eq == std::string::npos) return Bad("invalid query term '" + part + "': expected key=value");
    QueryTerm t;
    t.key = std::string(Trim(std::string_view(part).substr(0, eq)));
    std::string_view v = Trim(std::string_view(part).substr(eq + 1));
    if (t.key.empty() || v.empty()) return Bad("invalid query term '" + part + "': empty key or value");
    if (v.front() == '~') {
      t.op = QueryTerm::Op::kFuzzy;
      t.values = {Unquote(v.substr(1))};
      if (t.values[0].empty()) return Bad("empty fuzzy value for " + t.key);
    } else if (v.front() == '[' && v.back() == ']') {
      t.op = QueryTerm::Op::kRange;
      std::string_view inner = v.substr(1, v.size() - 2);
      size_t tilde = inner.find('~');
      if (tilde == std::string_view::npos) return Bad("range for " + t.key + " needs min~max");
      t.values = {Unquote(inner.substr(0, tilde)), Unquote(inner.substr(tilde + 1))};
    } else if (v.front() == '{' && v.back() == '}') {
      t.op = QueryTerm::Op::kAnyOf;
      t.values = Words(v.substr(1, v.size() - 2));
      if (t.values.empty()) return Bad("empty list for " + t.key);
    } else if (v.front() == '(' && v.back() == ')') {
      t.op = QueryTerm::Op::kAllOf;
      t.values = Words(v.substr(1, v.size() - 2));
      if (t.values.empty()) return Bad("empty list for " + t.key);
    } else {
      t.values = {Unquote(v)};
    }
    out.push_back(std::move(t));
  }
  return out;
}

StatusOr<std::vector<std::pair<std::string, bool>>> ParseSort(std::string_view sort) {
  std::vector<std::pair<std::string, bool>> out;
  for (auto& f : Split(sort, ',')) {
    std::string_view k = Trim(f);
    if (k.empty()) continue;
    bool desc = k.front() == '-';
    if (desc) k.remove_prefix(1);
    if (k.empty()) return Bad("invalid sort field");
    out.emplace_back(std::string(k), desc);
  }
  return out;
}

StatusOr<SqlFilter> BuildSqlFilter(const ListQuery& q,
                                   const std::map<std::string, QueryColumn>& columns,
                                   const std::string& default_order, int first_param) {
  SqlFilter f;
  int n = first_param;
  auto bind = [&](const QueryColumn& c, const std::string& v) -> StatusOr<std::string> {
    if (c.numeric) {
      auto i = ParseInt64(v);
      if (!i) return Bad("'" + v + "' is not a number");
      f.params.push_back(SqlInt(*i));
    } else {
      f.params.push_back(SqlText(v));
    }
    return "$" + std::to_string(n++);
  };
  for (const auto& t : q.terms) {
    auto col = columns.find(t.key);
    if (col == columns.end()) return Bad("unsupported query key '" + t.key + "'");
    const QueryColumn& c = col->second;
    switch (t.op) {
      case QueryTerm::Op::kExact: {
        BERTH_ASSIGN_OR_RETURN(std::string p, bind(c, t.values[0]));
        f.where += " AND " + c.sql + " = " + p;
        break;
      }
      case QueryTerm::Op::kFuzzy: {
        f.params.push_back(SqlText(LikePattern(ToLower(t.values[0]))));
        f.where += " AND LOWER(" + c.sql + ") LIKE $" + std::to_string(n++) + " ESCAPE '\\'";
        break;
      }
      case QueryTerm::Op::kRange: {
        if (!t.values[0].empty()) {
          BERTH_ASSIGN_OR_RETURN(std::string p, bind(c, t.values[0]));
          f.where += " AND " + c.sql + " >= " + p;
        }
        if (!t.values[1].empty()) {
          BERTH_ASSIGN_OR_RETURN(std::string p, bind(c, t.values[1]));
          f.where += " AND " + c.sql + " <= " + p;
        }
        break;
      }
      case QueryTerm::Op::kAnyOf: {
        std::string in;
        for (const auto& v : t.values) {
          BERTH_ASSIGN_OR_RETURN(std::string p, bind(c, v));
          in += (in.empty() ? "" : ", ") + p;
        }
        f.where += " AND " + c.sql + " IN (" + in + ")";
        break;
      }
      case QueryTerm::Op::kAllOf: {
        // A scalar column equals all values only when they are all the same.
        for (const auto& v : t.values) {
          BERTH_ASSIGN_OR_RETURN(std::string p, bind(c, v));
          f.where += " AND " + c.sql + " = " + p;
        }
        break;
      }
    }
  }
  std::string order;
  for (const auto& [key, desc] : q.sort) {
    auto col = columns.find(key);
    if (col == columns.end()) return Bad("unsupported sort key '" + key + "'");
    order += (order.empty() ? "" : ", ") + col->second.sql + (desc ? " DESC" : " ASC");
  }
  f.order_by = " ORDER BY " + (order.empty() ? default_order : order + ", " + default_order);
  return f;
}

StatusOr<RowPage> RunListQuery(SqlDatabase& db, const std::string& select,
                               const std::string& from, const std::string& base_where,
                               const std::vector<SqlValue>& base_params, const ListQuery& q,
                               const std::map<std::string, QueryColumn>& columns,
                               const std::string& default_order) {
  BERTH_ASSIGN_OR_RETURN(
      SqlFilter f, BuildSqlFilter(q, columns, default_order, static_cast<int>(base_params.size()) + 1));
  std::vector<SqlValue> params = base_params;
  params.insert(params.end(), f.params.begin(), f.params.end());
  std::string where = " WHERE " + (base_where.empty() ? std::string("1 = 1") : base_where) + f.where;
  RowPage page;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db, false, [&](SqlTransaction& tx) -> Status {
    auto c = tx.Exec("SELECT COUNT(*) FROM " + from + where, params);
    if (!c.ok()) return c.status();
    page.total = c->rows.at(0).Int(0);
    auto paged = params;
    size_t n = paged.size();
    paged.push_back(SqlInt(q.page_size));
    paged.push_back(SqlInt(q.offset()));
    auto r = tx.Exec("SELECT " + select + " FROM " + from + where + f.order_by + " LIMIT $" +
                         std::to_string(n + 1) + " OFFSET $" + std::to_string(n + 2),
                     paged);
    if (!r.ok()) return r.status();
    page.rows = std::move(r->rows);
    return {};
  }));
  return page;
}

}  // namespace berth
