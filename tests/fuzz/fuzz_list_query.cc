// Harbor's list query language (core/src/store/list_query.cc): ParseQ,
// ParseSort and BuildSqlFilter, reached the way handlers reach them, from a
// raw query string through QueryParams::Parse and ListQueryFrom
// (core/src/api/api_util.cc), plus SetPagination.
// Input: a raw query string ("q=name%3D~foo&sort=-id&page=2"); it is also
// given to ParseQ and ParseSort directly, as an already decoded q/sort.
// Checks: no crash/UB; the SQL never contains anything from the input (only
// whitelisted column names, operators and $n placeholders), placeholders are
// numbered consecutively and match the bound parameters.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "api/api_util.h"
#include "fake_http.h"
#include "store/list_query.h"

namespace {
void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz_list_query: invariant violated: %s\n", what);
    std::abort();
  }
}

// The user store's columns (store/user_store.cc), plus one with a table alias.
const std::map<std::string, berth::QueryColumn>& Columns() {
  static const auto* c = new std::map<std::string, berth::QueryColumn>{
      {"username", {"username"}},       {"email", {"email"}},
      {"realname", {"realname"}},       {"user_id", {"user_id", true}},
      {"sysadmin_flag", {"sysadmin_flag", true}},
      {"creation_time", {"creation_time", true}},
      {"name", {"p.name"}}};
  return *c;
}

// Every "$n" in order must be first, first+1, ...; returns how many.
int CheckPlaceholders(const std::string& sql, int first) {
  int next = first, count = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] != '$') continue;
    size_t j = i + 1;
    int n = 0;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + (sql[j++] - '0');
    Check(j > i + 1, "'$' without a number in SQL");
    Check(n == next, "placeholders out of order");
    ++next;
    ++count;
    i = j - 1;
  }
  return count;
}

// What the builder may emit: column names, keywords, operators, placeholders.
void CheckSqlAlphabet(const std::string& sql) {
  for (char c : sql) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view(" _.$,=<>()'\\").find(c) != std::string_view::npos;
    Check(ok, "unexpected character in generated SQL");
  }
  // The only quoted literal is ESCAPE '\'.
  size_t q = 0;
  while ((q = sql.find('\'', q)) != std::string::npos) {
    Check(sql.compare(q, 3, "'\\'") == 0, "quote outside ESCAPE '\\'");
    q += 3;
  }
}

void Build(const berth::ListQuery& q) {
  const int first = 3;
  auto f = berth::BuildSqlFilter(q, Columns(), "user_id", first);
  if (!f.ok()) return;
  CheckSqlAlphabet(f->where);
  CheckSqlAlphabet(f->order_by);
  int n = CheckPlaceholders(f->where, first);
  Check(static_cast<size_t>(n) == f->params.size(), "placeholders and parameters differ");
  Check(f->order_by.find('$') == std::string::npos, "placeholder in ORDER BY");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Decoded q and sort, as ParseQ/ParseSort get them.
  berth::ListQuery direct;
  if (auto t = berth::ParseQ(in); t.ok()) {
    for (const auto& term : *t) {
      Check(!term.key.empty() && !term.values.empty(), "term without key or value");
      if (term.op == berth::QueryTerm::Op::kRange) Check(term.values.size() == 2, "range arity");
    }
    direct.terms = *t;
  }
  if (auto s = berth::ParseSort(in); s.ok()) {
    for (const auto& [k, desc] : *s) Check(!k.empty(), "empty sort key");
    direct.sort = *s;
  }
  Build(direct);

  // The raw query string through the request path.
  berth::fuzz::FakeResponse resp;
  berth::fuzz::FakeRequest req(resp, "");
  berth::RequestContext ctx(req, resp);
  ctx.raw_path = "/api/v2.0/users";
  ctx.raw_query = std::string(in);
  ctx.query = berth::QueryParams::Parse(in);
  auto q = berth::ListQueryFrom(ctx);
  if (!q.ok()) return 0;
  Check(q->page >= 1 && q->page_size >= 1 && q->page_size <= 100, "page out of range");
  Check(q->offset() >= 0, "negative offset");
  Build(*q);
  berth::SetPagination(ctx, *q, int64_t{1} << 41);
  return 0;
}
