#include "store/pg_database.h"

#include <pqxx/pqxx>

namespace berth {

namespace {

// Turns a libpqxx exception into a Status with the contract of SqlTransaction.
Status FromPqxx(const std::exception& e) {
  if (dynamic_cast<const pqxx::unique_violation*>(&e) ||
      dynamic_cast<const pqxx::foreign_key_violation*>(&e)) {
    return Status::Conflict(e.what());
  }
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) ||
      dynamic_cast<const pqxx::deadlock_detected*>(&e) ||
      dynamic_cast<const pqxx::broken_connection*>(&e) ||
      dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    return Status(Code::kUnavailable, e.what());
  }
  return Status::Internal(std::string("postgres: ") + e.what());
}

}  // namespace

struct PgDatabase::Connection {
  explicit Connection(const std::string& dsn) : conn(dsn) {}
  pqxx::connection conn;
};

// A plain SELECT: no locks, no side effects (see PgTransaction).
bool IsPlainRead(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '(')) ++i;
  if (sql.compare(i, 6, "SELECT") != 0) return false;
  for (const char* locking : {"FOR UPDATE", "FOR SHARE", "FOR NO KEY", "FOR KEY SHARE", "pg_advisory"}) {
    if (sql.find(locking) != std::string_view::npos) return false;
  }
  return true;
}

// BEGIN is sent lazily, with the first statement that is not a plain read.
// At READ COMMITTED (pqxx::work's level) every statement of a transaction
// takes its own snapshot and a plain SELECT holds no lock, so reads that
// precede the first write lose nothing by running on their own, and a
// transaction that only reads (most API and /v2 requests) costs one round
// trip per statement instead of two more for BEGIN and COMMIT.
class PgTransaction : public SqlTransaction {
 public:
  PgTransaction(PgDatabase* owner, std::unique_ptr<PgDatabase::Connection> c)
      : owner_(owner), c_(std::move(c)) {}
  ~PgTransaction() override {
    bool broken = false;
    try {
      tx_.reset();  // aborts when not committed
      reads_.reset();
    } catch (...) {
      broken = true;
    }
    broken = broken || !c_->conn.is_open();
    owner_->Release(std::move(c_), broken);
  }

  StatusOr<SqlResult> Exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    std::vector<std::string> texts(params.size());
    std::vector<const char*> ptrs(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        texts[i] = std::to_string(*n);
        ptrs[i] = texts[i].c_str();
      } else if (auto* s = std::get_if<std::string>(&params[i])) {
        texts[i] = *s;
        ptrs[i] = texts[i].c_str();
      }
    }
    try {
      pqxx::transaction_base* tx = nullptr;
      if (tx_ == nullptr && IsPlainRead(sql)) {
        if (reads_ == nullptr) reads_ = std::make_unique<pqxx::nontransaction>(c_->conn);
        tx = reads_.get();
      } else {
        if (tx_ == nullptr) {
          reads_.reset();  // one transaction object per connection at a time
          tx_ = std::make_unique<pqxx::work>(c_->conn);
        }
        tx = tx_.get();
      }
      pqxx::result r = tx->exec_params(std::string(sql), pqxx::prepare::make_dynamic_params(ptrs));
      SqlResult out;
      out.affected = static_cast<int64_t>(r.affected_rows());
      out.rows.reserve(r.size());
      for (const auto& row : r) {
        std::vector<SqlValue> vals;
        vals.reserve(row.size());
        for (const auto& f : row) {
          if (f.is_null()) vals.emplace_back(std::monostate{});
          else vals.emplace_back(std::string(f.c_str(), f.size()));
        }
        out.rows.emplace_back(std::move(vals));
      }
      return out;
    } catch (const std::exception& e) {
      return FromPqxx(e);
    }
  }

  Status Commit() override {
    try {
      if (tx_ != nullptr) tx_->commit();
      if (reads_ != nullptr) reads_->commit();
      return {};
    } catch (const std::exception& e) {
      return FromPqxx(e);
    }
  }

 private:
  PgDatabase* owner_;
  std::unique_ptr<PgDatabase::Connection> c_;
  std::unique_ptr<pqxx::nontransaction> reads_;  // until the first write
  std::unique_ptr<pqxx::work> tx_;               // from the first write on
};

StatusOr<std::unique_ptr<PgDatabase>> PgDatabase::Open(const std::string& dsn, int pool_size) {
  std::unique_ptr<PgDatabase> db(new PgDatabase());
  db->dsn_ = dsn;
  db->max_ = std::max(1, pool_size);
  // One connection up front, so a wrong DSN fails at start with a clear message.
  auto first = db->Acquire();
  if (!first.ok()) return first.status();
  db->Release(std::move(*first), false);
  return db;
}

PgDatabase::~PgDatabase() = default;

StatusOr<std::unique_ptr<PgDatabase::Connection>> PgDatabase::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty() || open_ < max_; });
  if (!free_.empty()) {
    auto c = std::move(free_.back());
    free_.pop_back();
    return c;
  }
  ++open_;
  lock.unlock();
  try {
    return std::make_unique<Connection>(dsn_);
  } catch (const std::exception& e) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return Status(Code::kUnavailable, std::string("cannot connect to PostgreSQL: ") + e.what());
  }
}

void PgDatabase::Release(std::unique_ptr<Connection> c, bool broken) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken) {
    --open_;
  } else {
    free_.push_back(std::move(c));
  }
  cv_.notify_one();
}

StatusOr<std::unique_ptr<SqlTransaction>> PgDatabase::Begin(bool) {
  BERTH_ASSIGN_OR_RETURN(auto c, Acquire());
  if (!c->conn.is_open()) {
    // A session the server dropped: give its pool slot back, or after
    // pool_size such failures every Begin() waits forever.
    Release(std::move(c), /*broken=*/true);
    return Status(Code::kUnavailable, "postgres: the pooled connection is closed");
  }
  return std::unique_ptr<SqlTransaction>(new PgTransaction(this, std::move(c)));
}

}  // namespace berth
