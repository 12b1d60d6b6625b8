// Opens the metadata database the config names (SQLite or PostgreSQL).
#ifndef BERTH_STORE_DATABASE_FACTORY_H_
#define BERTH_STORE_DATABASE_FACTORY_H_

#include <memory>
#include <string>

#include "store/sql.h"

namespace berth {

// The metadata: section of berth.yml (kept here so the store does not depend
// on config; config/config.h includes this).
struct MetadataConfig {
  std::string driver = "sqlite";  // sqlite | postgres
  std::string sqlite_path;        // default <data_dir>/berth.db
  std::string postgres_dsn;       // postgresql://user@host:port/db
  int pool_size = 16;
};

StatusOr<std::unique_ptr<SqlDatabase>> OpenDatabase(const MetadataConfig& config);

}  // namespace berth

#endif  // BERTH_STORE_DATABASE_FACTORY_H_
