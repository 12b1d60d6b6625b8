// Opens the metadata database the config names (SQLite or PostgreSQL).
#ifndef BERTH_STORE_DATABASE_FACTORY_H_
#define BERTH_STORE_DATABASE_FACTORY_H_

#include <memory>

#include "config/config.h"
#include "store/sql.h"

namespace berth {

StatusOr<std::unique_ptr<SqlDatabase>> OpenDatabase(const MetadataConfig& config);

}  // namespace berth

#endif  // BERTH_STORE_DATABASE_FACTORY_H_
