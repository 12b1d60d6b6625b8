#include "store/database_factory.h"

#include "store/pg_database.h"
#include "store/sqlite_database.h"

namespace berth {

StatusOr<std::unique_ptr<SqlDatabase>> OpenDatabase(const MetadataConfig& config) {
  if (config.driver == "postgres") {
    auto db = PgDatabase::Open(config.postgres_dsn, config.pool_size);
    if (!db.ok()) return db.status();
    return std::unique_ptr<SqlDatabase>(std::move(*db));
  }
  auto db = SqliteDatabase::Open(config.sqlite_path, config.pool_size);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqlDatabase>(std::move(*db));
}

}  // namespace berth
