// PgDatabase: PostgreSQL metadata backend for scale-out (libpqxx, pooled).
#ifndef BERTH_STORE_PG_DATABASE_H_
#define BERTH_STORE_PG_DATABASE_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sql.h"

namespace berth {

class PgDatabase : public SqlDatabase {
 public:
  // Connects `pool_size` sessions to `dsn` (a libpq connection string or URI).
  static StatusOr<std::unique_ptr<PgDatabase>> Open(const std::string& dsn, int pool_size);
  ~PgDatabase() override;

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }
  StatusOr<std::unique_ptr<SqlTransaction>> Begin(bool write) override;

  struct Connection;

 private:
  friend class PgTransaction;
  PgDatabase() = default;
  StatusOr<std::unique_ptr<Connection>> Acquire();
  void Release(std::unique_ptr<Connection> c, bool broken);

  std::string dsn_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> free_;
  int open_ = 0;  // connections that exist (free or in use)
  int max_ = 0;
};

}  // namespace berth

#endif  // BERTH_STORE_PG_DATABASE_H_
