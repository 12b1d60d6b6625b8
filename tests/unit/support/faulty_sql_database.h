// FaultySqlDatabase: wraps a SqlDatabase and fails chosen statements, for
// the failure paths of the controllers ("the store failed after the bytes
// were written"). Everything else goes through to the real database.
#ifndef BERTH_TESTS_UNIT_SUPPORT_FAULTY_SQL_DATABASE_H_
#define BERTH_TESTS_UNIT_SUPPORT_FAULTY_SQL_DATABASE_H_

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/sql.h"

namespace berth::testing_support {

class FaultySqlDatabase : public SqlDatabase {
 public:
  explicit FaultySqlDatabase(SqlDatabase& real) : real_(real) {}

  // The next statement whose text contains `sql_fragment` fails with
  // `error` (not kUnavailable, or RunInTransaction would retry it).
  void FailNextExec(std::string fragment, Status error = Status::IOError("injected store fault")) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.emplace_back(std::move(fragment), std::move(error));
  }
  // How many injected faults have not fired yet.
  size_t pending_faults() const {
    std::lock_guard<std::mutex> lock(mu_);
    return faults_.size();
  }

  SqlDialect dialect() const override { return real_.dialect(); }
  StatusOr<std::unique_ptr<SqlTransaction>> Begin(bool write) override {
    auto tx = real_.Begin(write);
    if (!tx.ok()) return tx.status();
    return std::unique_ptr<SqlTransaction>(new Transaction(*this, std::move(*tx)));
  }

 private:
  class Transaction : public SqlTransaction {
   public:
    Transaction(FaultySqlDatabase& db, std::unique_ptr<SqlTransaction> real)
        : db_(db), real_(std::move(real)) {}
    StatusOr<SqlResult> Exec(std::string_view sql, const std::vector<SqlValue>& params) override {
      if (Status s = db_.Take(sql); !s.ok()) return s;
      return real_->Exec(sql, params);
    }
    Status Commit() override { return real_->Commit(); }

   private:
    FaultySqlDatabase& db_;
    std::unique_ptr<SqlTransaction> real_;
  };

  Status Take(std::string_view sql) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (sql.find(it->first) != std::string_view::npos) {
        Status s = std::move(it->second);
        faults_.erase(it);
        return s;
      }
    }
    return {};
  }

  SqlDatabase& real_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Status>> faults_;
};

}  // namespace berth::testing_support

#endif  // BERTH_TESTS_UNIT_SUPPORT_FAULTY_SQL_DATABASE_H_
