// Numbered schema migrations, one list for SQLite and PostgreSQL.
#ifndef BERTH_STORE_MIGRATIONS_H_
#define BERTH_STORE_MIGRATIONS_H_

#include <string>
#include <vector>

#include "store/sql.h"

namespace berth {

struct Migration {
  int version;
  const char* name;
  // Statements, with dialect tokens: {{ID}} (auto-increment primary key),
  // {{NAME}} (text compared bytewise, for ASCIIbetical ordering), and a
  // leading {{POSTGRES}} or {{SQLITE}} for statements only that dialect runs.
  std::vector<const char*> statements;
};

const std::vector<Migration>& AllMigrations();

// Applies every migration newer than the database's version, each in its own
// transaction. Safe to run from several nodes at once (PostgreSQL takes an
// advisory lock). Returns the resulting version.
StatusOr<int> Migrate(SqlDatabase& db);

// Replaces dialect tokens; "" for a statement of the other dialect.
std::string RenderForDialect(const char* statement, SqlDialect dialect);

}  // namespace berth

#endif  // BERTH_STORE_MIGRATIONS_H_
