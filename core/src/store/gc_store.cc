#include "store/gc_store.h"

#include "common/clock.h"
#include "store/digest_lock.h"
#include "store/storage_accounting.h"

namespace berth {

namespace {

// b.digest is referenced ($1 = cutoff of the time window).
constexpr char kReferenced[] =
    "(EXISTS (SELECT 1 FROM artifact_blob ab WHERE ab.digest = b.digest) OR "
    " EXISTS (SELECT 1 FROM artifact a WHERE a.digest = b.digest) OR "
    " EXISTS (SELECT 1 FROM repository_blob rb WHERE rb.digest = b.digest AND "
    "         rb.touched_at >= $1))";

}  // namespace

StatusOr<std::vector<GcArtifact>> GcStore::UntaggedArtifacts(int64_t pushed_before,
                                                             int64_t after_id, int64_t limit) {
  std::vector<GcArtifact> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(
        "SELECT a.id, r.name, a.digest, a.size FROM artifact a "
        "JOIN repository r ON r.id = a.repository_id "
        "WHERE a.id > $2 AND a.push_time < $1 AND "
        "NOT EXISTS (SELECT 1 FROM tag t WHERE t.artifact_id = a.id) AND "
        "NOT EXISTS (SELECT 1 FROM artifact_reference ar WHERE ar.child_id = a.id) AND "
        "(a.subject_digest IS NULL OR NOT EXISTS (SELECT 1 FROM artifact s WHERE "
        " s.repository_id = a.repository_id AND s.digest = a.subject_digest)) "
        "ORDER BY a.id LIMIT $3",
        {SqlInt(pushed_before), SqlInt(after_id), SqlInt(limit)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back({row.Int(0), row.Text(1), row.Text(2), row.Int(3)});
    return {};
  }));
  return out;
}

StatusOr<std::vector<GcBlob>> GcStore::UnreferencedBlobs(int64_t cutoff, std::string_view after,
                                                         int64_t limit) {
  std::vector<GcBlob> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    out.clear();
    auto r = tx.Exec(std::string("SELECT b.digest, b.size, b.deleting FROM blob b "
                                 "WHERE b.digest > $2 AND (b.deleting = 1 OR "
                                 "(b.created_at < $1 AND NOT ") +
                         kReferenced + ")) ORDER BY b.digest LIMIT $3",
                     {SqlInt(cutoff), SqlText(after), SqlInt(limit)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back({row.Text(0), row.Int(1), row.Int(2) != 0});
    return {};
  }));
  return out;
}

StatusOr<bool> GcStore::MarkDeleting(std::string_view digest, int64_t cutoff) {
  bool marked = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    BERTH_RETURN_IF_ERROR(LockDigests(tx, db_.dialect(), {std::string(digest)}));
    // kReferenced names the row b: select it under that alias (an UPDATE
    // cannot alias its table portably).
    auto u = tx.Exec(std::string("UPDATE blob SET deleting = 1 WHERE digest IN ("
                                 "SELECT b.digest FROM blob b WHERE b.digest = $2 AND "
                                 "(b.deleting = 1 OR (b.created_at < $1 AND NOT ") +
                         kReferenced + ")))",
                     {SqlInt(cutoff), SqlText(digest)});
    if (!u.ok()) return u.status();
    marked = u->affected == 1;
    return {};
  }));
  return marked;
}

StatusOr<bool> GcStore::MarkOrphanFile(std::string_view digest, int64_t size) {
  bool marked = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    BERTH_RETURN_IF_ERROR(LockDigests(tx, db_.dialect(), {std::string(digest)}));
    auto known = tx.Exec(
        "SELECT (SELECT COUNT(*) FROM blob WHERE digest = $1) + "
        "(SELECT COUNT(*) FROM artifact WHERE digest = $1)",
        {SqlText(digest)});
    if (!known.ok()) return known.status();
    if (known->rows.at(0).Int(0) != 0) return {};
    auto i = tx.Exec("INSERT INTO blob (digest, size, created_at, deleting) VALUES ($1, $2, $3, 1)",
                     {SqlText(digest), SqlInt(size), SqlInt(NowUnixMillis())});
    if (!i.ok()) return i.status();
    marked = true;
    return {};
  }));
  return marked;
}

StatusOr<bool> GcStore::FinishDelete(std::string_view digest, int64_t cutoff,
                                     const std::function<Status()>& remove_file) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    removed = false;
    // The quota rows of the projects whose repositories link the blob come
    // first (the order writers take them in), then the digest's lock: the
    // links go with the blob, and so does any pending charge they carried.
    auto projects = tx.Exec(
        "SELECT DISTINCT r.project_id FROM repository_blob rb "
        "JOIN repository r ON r.id = rb.repository_id WHERE rb.digest = $1 ORDER BY 1",
        {SqlText(digest)});
    if (!projects.ok()) return projects.status();
    std::vector<accounting::LockedQuota> quotas;
    for (const auto& row : projects->rows) {
      BERTH_ASSIGN_OR_RETURN(auto q, accounting::Lock(tx, db_.dialect(), row.Int(0)));
      if (q) quotas.push_back(*q);
    }
    BERTH_RETURN_IF_ERROR(LockDigests(tx, db_.dialect(), {std::string(digest)}));
    auto r = tx.Exec(std::string("SELECT b.deleting, CASE WHEN ") + kReferenced +
                         " THEN 1 ELSE 0 END FROM blob b WHERE b.digest = $2",
                     {SqlInt(cutoff), SqlText(digest)});
    if (!r.ok()) return r.status();
    if (r->rows.empty() || r->rows[0].Int(0) == 0) return {};
    if (r->rows[0].Int(1) != 0) {
      // Referenced again since the mark (its file was never touched).
      return tx.Exec("UPDATE blob SET deleting = 0 WHERE digest = $1", {SqlText(digest)}).status();
    }
    // The file goes first, inside the transaction: if this process dies
    // here, the row stays deleting and the next run finishes it.
    BERTH_RETURN_IF_ERROR(remove_file());
    auto p = tx.Exec("DELETE FROM blob_pending WHERE digest = $1", {SqlText(digest)});
    if (!p.ok()) return p.status();
    auto l = tx.Exec("DELETE FROM repository_blob WHERE digest = $1", {SqlText(digest)});
    if (!l.ok()) return l.status();
    auto d = tx.Exec("DELETE FROM blob WHERE digest = $1", {SqlText(digest)});
    if (!d.ok()) return d.status();
    for (auto& q : quotas) {
      BERTH_RETURN_IF_ERROR(accounting::Reconcile(tx, q, {std::string(digest)}, false).status());
    }
    removed = true;
    return {};
  }));
  return removed;
}

StatusOr<bool> GcStore::IsKnown(std::string_view digest) {
  bool known = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "SELECT (SELECT COUNT(*) FROM blob WHERE digest = $1) + "
        "(SELECT COUNT(*) FROM artifact WHERE digest = $1)",
        {SqlText(digest)});
    if (!r.ok()) return r.status();
    known = r->rows.at(0).Int(0) != 0;
    return {};
  }));
  return known;
}

}  // namespace berth
