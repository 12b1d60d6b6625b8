#include "store/registry_store.h"

#include <set>

#include "common/clock.h"
#include "common/strings.h"
#include "store/artifact_columns.h"
#include "store/digest_lock.h"
#include "store/row_query.h"
#include "store/storage_accounting.h"

namespace berth {

namespace {

constexpr char kUploadColumns[] = "uuid, repository, started_at";

// ReadArtifact from the first column (a function, for QueryOptionalRow).
ArtifactRecord ReadArtifactRow(const SqlRow& r) { return ReadArtifact(r); }

UploadRecord ReadUpload(const SqlRow& r) { return {r.Text(0), r.Text(1), r.Int(2)}; }

// Ensures the repository row exists and returns its id.
StatusOr<int64_t> EnsureRepository(SqlTransaction& tx, std::string_view name, int64_t now) {
  // The project is the first path component.
  std::string_view project = name.substr(0, name.find('/'));
  auto ins = tx.Exec(
      "INSERT INTO repository (name, project_id, created_at, updated_at) VALUES ($1, "
      "COALESCE((SELECT project_id FROM project WHERE name = $3), 0), $2, $2) "
      "ON CONFLICT (name) DO NOTHING",
      {SqlText(name), SqlInt(now), SqlText(project)});
  if (!ins.ok()) return ins.status();
  auto sel = tx.Exec("SELECT id FROM repository WHERE name = $1", {SqlText(name)});
  if (!sel.ok()) return sel.status();
  if (sel->rows.empty()) return Status::Internal("repository vanished during insert");
  return sel->rows[0].Int(0);
}

StatusOr<std::optional<int64_t>> RepositoryId(SqlTransaction& tx, std::string_view name) {
  auto sel = tx.Exec("SELECT id FROM repository WHERE name = $1", {SqlText(name)});
  if (!sel.ok()) return sel.status();
  if (sel->rows.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(sel->rows[0].Int(0));
}

Status BlobUnknown(std::string_view digest, const char* what) {
  return Status(Code::kInvalidArgument,
                std::string(what) + " " + std::string(digest) + " is unknown to the repository",
                "MANIFEST_BLOB_UNKNOWN", "{\"digest\":" + JsonQuote(digest) + "}");
}

// Locks the quota of the repository's project (nullopt: no project).
StatusOr<std::optional<accounting::LockedQuota>> LockQuotaOf(SqlTransaction& tx,
                                                             SqlDialect dialect,
                                                             std::string_view repo) {
  BERTH_ASSIGN_OR_RETURN(int64_t project_id, accounting::ProjectOfRepository(tx, repo));
  return accounting::Lock(tx, dialect, project_id);
}

Status ReconcileIf(SqlTransaction& tx, std::optional<accounting::LockedQuota>& quota,
                   const std::set<std::string>& digests, bool enforce) {
  if (!quota) return {};
  return accounting::Reconcile(tx, *quota, digests, enforce).status();
}

// Deletes an artifact row and, recursively, children that nothing else keeps.
// Adds the digests the deleted artifacts referenced (their own and their
// blobs') to `touched`, for the quota, and, when `removed_tags` is given,
// the tags deleted with them.
Status DeleteArtifactDeep(SqlTransaction& tx, int64_t repo_id, int64_t artifact_id,
                          std::set<std::string>* touched,
                          std::vector<std::string>* removed_tags = nullptr) {
  auto kids = tx.Exec("SELECT child_id FROM artifact_reference WHERE parent_id = $1",
                      {SqlInt(artifact_id)});
  if (!kids.ok()) return kids.status();
  // Accessories (signatures, SBOMs, any referrer) go with their subject, as
  // in Harbor; an index's child that is itself kept by another parent stays.
  auto accessories = tx.Exec(
      "SELECT x.id FROM artifact x JOIN artifact a ON a.id = $1 WHERE x.repository_id = "
      "a.repository_id AND x.accessory_of = a.digest AND x.id <> a.id AND NOT EXISTS "
      "(SELECT 1 FROM artifact_reference ar WHERE ar.child_id = x.id)",
      {SqlInt(artifact_id)});
  if (!accessories.ok()) return accessories.status();
  for (const auto& row : accessories->rows) {
    BERTH_RETURN_IF_ERROR(DeleteArtifactDeep(tx, repo_id, row.Int(0), touched, removed_tags));
  }
  if (removed_tags != nullptr) {
    auto tags = tx.Exec("SELECT name FROM tag WHERE artifact_id = $1", {SqlInt(artifact_id)});
    if (!tags.ok()) return tags.status();
    for (const auto& row : tags->rows) removed_tags->push_back(row.Text(0));
  }
  auto used = tx.Exec(
      "SELECT digest FROM artifact WHERE id = $1 UNION SELECT digest FROM artifact_blob "
      "WHERE artifact_id = $1",
      {SqlInt(artifact_id)});
  if (!used.ok()) return used.status();
  for (const auto& row : used->rows) touched->insert(row.Text(0));
  auto del = tx.Exec("DELETE FROM artifact WHERE id = $1", {SqlInt(artifact_id)});
  if (!del.ok()) return del.status();
  for (const auto& k : kids->rows) {
    int64_t child = k.Int(0);
    auto keep = tx.Exec(
        "SELECT (SELECT COUNT(*) FROM tag WHERE artifact_id = $1) + "
        "(SELECT COUNT(*) FROM artifact_reference WHERE child_id = $1)",
        {SqlInt(child)});
    if (!keep.ok()) return keep.status();
    if (keep->rows[0].Int(0) == 0) {
      BERTH_RETURN_IF_ERROR(DeleteArtifactDeep(tx, repo_id, child, touched, removed_tags));
    } else {
      // Kept by a tag or another index: listed again once no index holds it.
      auto h = tx.Exec(
          "UPDATE artifact SET top_level = 1 WHERE id = $1 AND accessory_of = '' AND NOT EXISTS "
          "(SELECT 1 FROM artifact_reference ar WHERE ar.child_id = $1)",
          {SqlInt(child)});
      if (!h.ok()) return h.status();
    }
  }
  return {};
}

}  // namespace

StatusOr<std::optional<RepositoryRecord>> RegistryStore::GetRepository(std::string_view name) {
  std::optional<RepositoryRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT id, name, created_at, updated_at FROM repository WHERE name = $1",
                     {SqlText(name)});
    if (!r.ok()) return r.status();
    if (!r->rows.empty()) {
      const auto& row = r->rows[0];
      out = RepositoryRecord{row.Int(0), row.Text(1), row.Int(2), row.Int(3)};
    }
    return {};
  }));
  return out;
}

StatusOr<NamePage> RegistryStore::ListRepositories(std::string_view last, int64_t limit) {
  NamePage page;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec("SELECT name FROM repository WHERE name > $1 ORDER BY name LIMIT $2",
                     {SqlText(last), SqlInt(limit + 1)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) page.names.push_back(row.Text(0));
    return {};
  }));
  if (static_cast<int64_t>(page.names.size()) > limit) {
    page.names.resize(static_cast<size_t>(limit));
    page.more = true;
  }
  return page;
}

StatusOr<std::optional<int64_t>> RegistryStore::GetLinkedBlobSize(std::string_view repo,
                                                                  std::string_view digest) {
  std::optional<int64_t> out;
  int64_t touched_at = 0;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "SELECT b.size, rb.touched_at FROM repository_blob rb "
        "JOIN repository r ON r.id = rb.repository_id "
        "JOIN blob b ON b.digest = rb.digest WHERE r.name = $1 AND rb.digest = $2 AND "
        "b.deleting = 0",
        {SqlText(repo), SqlText(digest)});
    if (!r.ok()) return r.status();
    if (!r->rows.empty()) {
      out = r->rows[0].Int(0);
      touched_at = r->rows[0].Int(1);
    }
    return {};
  }));
  int64_t now = NowUnixMillis();
  if (!out || link_refresh_ms_ <= 0 || touched_at >= now - link_refresh_ms_) return out;
  // Stale: refresh it under the digest's lock, so a concurrent GC either
  // sees the fresh link or has already removed the blob (and we say so).
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    out.reset();
    BERTH_RETURN_IF_ERROR(LockDigests(tx, db_.dialect(), {std::string(digest)}));
    auto r = tx.Exec(
        "SELECT b.size, rb.repository_id FROM repository_blob rb "
        "JOIN repository r ON r.id = rb.repository_id "
        "JOIN blob b ON b.digest = rb.digest WHERE r.name = $1 AND rb.digest = $2 AND "
        "b.deleting = 0",
        {SqlText(repo), SqlText(digest)});
    if (!r.ok()) return r.status();
    if (r->rows.empty()) return {};
    out = r->rows[0].Int(0);
    return tx.Exec("UPDATE repository_blob SET touched_at = $3 WHERE repository_id = $1 AND "
                   "digest = $2",
                   {SqlInt(r->rows[0].Int(1)), SqlText(digest), SqlInt(now)})
        .status();
  }));
  return out;
}

StatusOr<bool> RegistryStore::HasStorageLimit(std::string_view repo) {
  bool limited = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t project_id, accounting::ProjectOfRepository(tx, repo));
    BERTH_ASSIGN_OR_RETURN(int64_t hard, accounting::HardLimit(tx, project_id));
    limited = hard >= 0;
    return {};
  }));
  return limited;
}

Status RegistryStore::LinkBlob(std::string_view repo, std::string_view digest, int64_t size,
                               const ContentCommit& commit, const ContentCheck& present) {
  bool guarded = false;
  if (commit) {
    BERTH_ASSIGN_OR_RETURN(guarded, HasStorageLimit(repo));
    if (!guarded) BERTH_RETURN_IF_ERROR(commit());
  }
  int64_t now = NowUnixMillis();
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    // The quota lock first: every change to the project's references queues here.
    BERTH_ASSIGN_OR_RETURN(auto quota, LockQuotaOf(tx, db_.dialect(), repo));
    // Then the digest's (always in this order), against garbage collection.
    BERTH_RETURN_IF_ERROR(LockDigests(tx, db_.dialect(), {std::string(digest)}));
    BERTH_ASSIGN_OR_RETURN(int64_t repo_id, EnsureRepository(tx, repo, now));
    auto b = tx.Exec(
        "INSERT INTO blob (digest, size, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (digest) DO UPDATE SET deleting = 0",
        {SqlText(digest), SqlInt(size), SqlInt(now)});
    if (!b.ok()) return b.status();
    auto l = tx.Exec(
        "INSERT INTO repository_blob (repository_id, digest, created_at, touched_at) "
        "VALUES ($1, $2, $3, $3) "
        "ON CONFLICT (repository_id, digest) DO UPDATE SET touched_at = $3",
        {SqlInt(repo_id), SqlText(digest), SqlInt(now)});
    if (!l.ok()) return l.status();
    // Pending until a manifest of the repository claims it; a blob an
    // artifact of the repository already uses needs no claim.
    auto p = tx.Exec(
        "INSERT INTO blob_pending (repository_id, digest, created_at) "
        "SELECT CAST($1 AS BIGINT), CAST($2 AS TEXT), CAST($3 AS BIGINT) "
        "WHERE NOT EXISTS (SELECT 1 FROM artifact_blob ab JOIN artifact a ON a.id = "
        "ab.artifact_id WHERE a.repository_id = $1 AND ab.digest = $2) "
        "ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = excluded.created_at",
        {SqlInt(repo_id), SqlText(digest), SqlInt(now)});
    if (!p.ok()) return p.status();
    BERTH_RETURN_IF_ERROR(ReconcileIf(tx, quota, {std::string(digest)}, true));
    if (guarded) BERTH_RETURN_IF_ERROR(commit());
    // A row always has its bytes: check them under the lock, after any GC
    // removal of this digest has finished.
    return present ? present() : Status();
  });
}

Status RegistryStore::UnlinkBlob(std::string_view repo, std::string_view digest) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto quota, LockQuotaOf(tx, db_.dialect(), repo));
    auto r = tx.Exec(
        "DELETE FROM repository_blob WHERE digest = $2 AND repository_id = "
        "(SELECT id FROM repository WHERE name = $1)",
        {SqlText(repo), SqlText(digest)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) return Status::NotFound("blob unknown to repository", "BLOB_UNKNOWN");
    auto p = tx.Exec(
        "DELETE FROM blob_pending WHERE digest = $2 AND repository_id = "
        "(SELECT id FROM repository WHERE name = $1)",
        {SqlText(repo), SqlText(digest)});
    if (!p.ok()) return p.status();
    return ReconcileIf(tx, quota, {std::string(digest)}, false);
  });
}

Status RegistryStore::CreateUpload(const UploadRecord& u) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx
        .Exec("INSERT INTO upload (uuid, repository, started_at) VALUES ($1, $2, $3)",
              {SqlText(u.uuid), SqlText(u.repository), SqlInt(u.started_at)})
        .status();
  });
}

StatusOr<std::optional<UploadRecord>> RegistryStore::GetUpload(std::string_view uuid) {
  return QueryOptionalRow(db_, SelectSql(kUploadColumns, "FROM upload WHERE uuid = $1"),
                          {SqlText(uuid)}, ReadUpload);
}

Status RegistryStore::DeleteUpload(std::string_view uuid) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    return tx.Exec("DELETE FROM upload WHERE uuid = $1", {SqlText(uuid)}).status();
  });
}

StatusOr<std::vector<UploadRecord>> RegistryStore::ListUploadsStartedBefore(int64_t millis) {
  std::vector<UploadRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(SelectSql(kUploadColumns, "FROM upload WHERE started_at < $1 ORDER BY uuid"),
                     {SqlInt(millis)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadUpload(row));
    return {};
  }));
  return out;
}

StatusOr<ArtifactRecord> RegistryStore::PutManifest(const NewManifest& m,
                                                    const ContentCommit& commit,
                                                    const ContentCheck& manifest_present) {
  ArtifactRecord out;
  bool guarded = false;
  if (commit) {
    BERTH_ASSIGN_OR_RETURN(guarded, HasStorageLimit(m.repository));
    if (!guarded) BERTH_RETURN_IF_ERROR(commit());
  }
  int64_t now = NowUnixMillis();
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto quota, LockQuotaOf(tx, db_.dialect(), m.repository));
    std::vector<std::string> locked = m.blobs;
    locked.push_back(m.digest);
    // Children too: GC deletes untagged artifacts under their digest's lock.
    for (const auto& c : m.children) locked.push_back(c.digest);
    BERTH_RETURN_IF_ERROR(LockDigests(tx, db_.dialect(), std::move(locked)));
    BERTH_ASSIGN_OR_RETURN(int64_t repo_id, EnsureRepository(tx, m.repository, now));
    int64_t total = m.manifest_size;
    std::set<std::string> seen;
    for (const auto& d : m.blobs) {
      if (!seen.insert(d).second) continue;
      auto r = tx.Exec(
          "SELECT b.size FROM repository_blob rb JOIN blob b ON b.digest = rb.digest "
          "WHERE rb.repository_id = $1 AND rb.digest = $2 AND b.deleting = 0",
          {SqlInt(repo_id), SqlText(d)});
      if (!r.ok()) return r.status();
      if (r->rows.empty()) return BlobUnknown(d, "blob");
      total += r->rows[0].Int(0);
    }
    std::vector<int64_t> child_ids;
    for (const auto& c : m.children) {
      auto r = tx.Exec("SELECT id, size FROM artifact WHERE repository_id = $1 AND digest = $2",
                       {SqlInt(repo_id), SqlText(c.digest)});
      if (!r.ok()) return r.status();
      if (r->rows.empty()) return BlobUnknown(c.digest, "manifest");
      child_ids.push_back(r->rows[0].Int(0));
      if (seen.insert(c.digest).second) total += r->rows[0].Int(1);
    }
    auto ins = tx.Exec(
        "INSERT INTO artifact (repository_id, digest, media_type, artifact_type, manifest_size, "
        "size, subject_digest, annotations, push_time, harbor_type, extra_attrs, accessory_of, "
        "accessory_type, top_level) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "$13, $14) "
        "ON CONFLICT (repository_id, digest) DO NOTHING",
        {SqlInt(repo_id), SqlText(m.digest), SqlText(m.media_type), SqlText(m.artifact_type),
         SqlInt(m.manifest_size), SqlInt(total),
         m.subject_digest.empty() ? SqlNull() : SqlText(m.subject_digest),
         SqlText(m.annotations_json), SqlInt(now), SqlText(m.type), SqlText(m.extra_attrs_json),
         SqlText(m.accessory_of), SqlText(m.accessory_type),
         SqlInt(m.accessory_of.empty() ? 1 : 0)});
    if (!ins.ok()) return ins.status();
    bool created = ins->affected > 0;
    if (!created) {
      // A push again is a push: untagged-artifact GC goes by push time.
      auto up = tx.Exec("UPDATE artifact SET push_time = $3 WHERE repository_id = $1 AND digest = $2",
                        {SqlInt(repo_id), SqlText(m.digest), SqlInt(now)});
      if (!up.ok()) return up.status();
      if (!m.accessory_of.empty()) {
        // Pushed by digest first, then tagged in cosign's scheme (crane,
        // replication): the tag makes it an accessory now.
        auto acc = tx.Exec(
            "UPDATE artifact SET accessory_of = $3, accessory_type = $4, harbor_type = $5, "
            "top_level = 0 WHERE repository_id = $1 AND digest = $2 AND accessory_of = ''",
            {SqlInt(repo_id), SqlText(m.digest), SqlText(m.accessory_of), SqlText(m.accessory_type),
             SqlText(m.type)});
        if (!acc.ok()) return acc.status();
      }
    }
    auto sel = tx.Exec(
        SelectSql(kArtifactColumns, "FROM artifact a WHERE a.repository_id = $1 AND a.digest = $2"),
        {SqlInt(repo_id), SqlText(m.digest)});
    if (!sel.ok()) return sel.status();
    if (sel->rows.empty()) return Status::Internal("artifact vanished during insert");
    out = ReadArtifact(sel->rows[0]);
    if (created) {
      for (const auto& d : seen) {
        bool is_child = false;
        for (const auto& c : m.children) is_child = is_child || c.digest == d;
        if (is_child) continue;
        auto r = tx.Exec(
            "INSERT INTO artifact_blob (artifact_id, digest) VALUES ($1, $2) "
            "ON CONFLICT (artifact_id, digest) DO NOTHING",
            {SqlInt(out.id), SqlText(d)});
        if (!r.ok()) return r.status();
      }
      for (size_t i = 0; i < m.children.size(); ++i) {
        auto r = tx.Exec(
            "INSERT INTO artifact_reference (parent_id, child_id, child_digest, platform) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (parent_id, child_digest) DO NOTHING",
            {SqlInt(out.id), SqlInt(child_ids[i]), SqlText(m.children[i].digest),
             SqlText(m.children[i].platform_json)});
        if (!r.ok()) return r.status();
        // Listed under its index from now on, not on its own.
        auto h = tx.Exec("UPDATE artifact SET top_level = 0 WHERE id = $1", {SqlInt(child_ids[i])});
        if (!h.ok()) return h.status();
      }
    }
    if (!m.tag.empty()) {
      auto t = tx.Exec(
          "INSERT INTO tag (repository_id, artifact_id, name, push_time) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (repository_id, name) DO NOTHING",
          {SqlInt(repo_id), SqlInt(out.id), SqlText(m.tag), SqlInt(now)});
      if (!t.ok()) return t.status();
      if (t->affected == 0) {
        // The tag exists. Locked (PostgreSQL) so that the guard judges the
        // artifact the update below replaces, even with pushes racing.
        auto cur = tx.Exec(std::string("SELECT artifact_id FROM tag WHERE repository_id = $1 AND "
                                       "name = $2") +
                               (db_.dialect() == SqlDialect::kPostgres ? " FOR UPDATE" : ""),
                           {SqlInt(repo_id), SqlText(m.tag)});
        if (!cur.ok()) return cur.status();
        if (tag_guard_ && !cur->rows.empty() && cur->rows[0].Int(0) != out.id) {
          BERTH_RETURN_IF_ERROR(tag_guard_(tx, m.repository, {m.tag}, TagChange::kOverwrite));
        }
        auto up = tx.Exec(
            "UPDATE tag SET artifact_id = $3, push_time = $4 WHERE repository_id = $1 AND name = $2",
            {SqlInt(repo_id), SqlText(m.tag), SqlInt(out.id), SqlInt(now)});
        if (!up.ok()) return up.status();
      }
    }
    // The manifest claims the blobs pushed for it: from now on they count
    // because an artifact uses them.
    std::set<std::string> charged = {m.digest};
    for (const auto& d : m.blobs) {
      charged.insert(d);
      auto c = tx.Exec("DELETE FROM blob_pending WHERE repository_id = $1 AND digest = $2",
                       {SqlInt(repo_id), SqlText(d)});
      if (!c.ok()) return c.status();
    }
    BERTH_RETURN_IF_ERROR(ReconcileIf(tx, quota, charged, true));
    auto u = tx.Exec("UPDATE repository SET updated_at = $2 WHERE id = $1",
                     {SqlInt(repo_id), SqlInt(now)});
    if (!u.ok()) return u.status();
    if (guarded) BERTH_RETURN_IF_ERROR(commit());
    return manifest_present ? manifest_present() : Status();
  }));
  return out;
}

StatusOr<std::optional<ArtifactRecord>> RegistryStore::GetArtifactByDigest(
    std::string_view repo, std::string_view digest) {
  return QueryOptionalRow(db_,
                          SelectSql(kArtifactColumns,
                                    "FROM artifact a JOIN repository r ON r.id = a.repository_id "
                                    "WHERE r.name = $1 AND a.digest = $2"),
                          {SqlText(repo), SqlText(digest)}, ReadArtifactRow);
}

StatusOr<std::optional<ArtifactRecord>> RegistryStore::GetArtifactByTag(std::string_view repo,
                                                                        std::string_view tag) {
  return QueryOptionalRow(
      db_,
      SelectSql(kArtifactColumns,
                "FROM tag t JOIN repository r ON r.id = t.repository_id "
                "JOIN artifact a ON a.id = t.artifact_id WHERE r.name = $1 AND t.name = $2"),
      {SqlText(repo), SqlText(tag)}, ReadArtifactRow);
}

Status RegistryStore::DeleteTag(std::string_view repo, std::string_view tag) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    auto r = tx.Exec(
        "DELETE FROM tag WHERE name = $2 AND repository_id = "
        "(SELECT id FROM repository WHERE name = $1)",
        {SqlText(repo), SqlText(tag)});
    if (!r.ok()) return r.status();
    if (r->affected == 0) {
      return Status::NotFound("tag " + std::string(tag) + " is unknown", "MANIFEST_UNKNOWN");
    }
    return tag_guard_ ? tag_guard_(tx, repo, {std::string(tag)}, TagChange::kDelete) : Status();
  });
}

Status RegistryStore::DeleteArtifact(std::string_view repo, std::string_view digest) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto quota, LockQuotaOf(tx, db_.dialect(), repo));
    BERTH_ASSIGN_OR_RETURN(auto repo_id, RepositoryId(tx, repo));
    if (!repo_id) return Status::NotFound("repository unknown", "NAME_UNKNOWN");
    auto a = tx.Exec("SELECT id FROM artifact WHERE repository_id = $1 AND digest = $2",
                     {SqlInt(*repo_id), SqlText(digest)});
    if (!a.ok()) return a.status();
    if (a->rows.empty()) return Status::NotFound("manifest unknown", "MANIFEST_UNKNOWN");
    int64_t id = a->rows[0].Int(0);
    auto parents = tx.Exec(
        "SELECT p.digest FROM artifact_reference ar JOIN artifact p ON p.id = ar.parent_id "
        "WHERE ar.child_id = $1 ORDER BY p.digest LIMIT 1",
        {SqlInt(id)});
    if (!parents.ok()) return parents.status();
    if (!parents->rows.empty()) {
      return Status(Code::kPreconditionFailed,
                    "manifest is referenced by index " + parents->rows[0].Text(0) +
                        "; delete the index first",
                    "DENIED");
    }
    std::set<std::string> touched;
    std::vector<std::string> removed_tags;
    BERTH_RETURN_IF_ERROR(DeleteArtifactDeep(tx, *repo_id, id, &touched,
                                             tag_guard_ ? &removed_tags : nullptr));
    if (tag_guard_ && !removed_tags.empty()) {
      BERTH_RETURN_IF_ERROR(tag_guard_(tx, repo, removed_tags, TagChange::kDelete));
    }
    return ReconcileIf(tx, quota, touched, false);
  });
}

Status RegistryStore::DeleteRepository(std::string_view repo) {
  return RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto quota, LockQuotaOf(tx, db_.dialect(), repo));
    BERTH_ASSIGN_OR_RETURN(auto repo_id, RepositoryId(tx, repo));
    if (!repo_id) return Status::NotFound("repository name not known to registry", "NAME_UNKNOWN");
    auto used = tx.Exec(
        "SELECT digest FROM artifact WHERE repository_id = $1 "
        "UNION SELECT ab.digest FROM artifact_blob ab JOIN artifact a ON a.id = ab.artifact_id "
        "WHERE a.repository_id = $1 "
        "UNION SELECT digest FROM blob_pending WHERE repository_id = $1",
        {SqlInt(*repo_id)});
    if (!used.ok()) return used.status();
    std::set<std::string> touched;
    for (const auto& row : used->rows) touched.insert(row.Text(0));
    if (tag_guard_) {
      auto tags = tx.Exec("SELECT name FROM tag WHERE repository_id = $1 ORDER BY name",
                          {SqlInt(*repo_id)});
      if (!tags.ok()) return tags.status();
      std::vector<std::string> names;
      for (const auto& row : tags->rows) names.push_back(row.Text(0));
      if (!names.empty()) BERTH_RETURN_IF_ERROR(tag_guard_(tx, repo, names, TagChange::kDelete));
    }
    auto p = tx.Exec("DELETE FROM blob_pending WHERE repository_id = $1", {SqlInt(*repo_id)});
    if (!p.ok()) return p.status();
    // Artifacts, their blobs and references, tags and blob links cascade.
    auto r = tx.Exec("DELETE FROM repository WHERE id = $1", {SqlInt(*repo_id)});
    if (!r.ok()) return r.status();
    return ReconcileIf(tx, quota, touched, false);
  });
}

StatusOr<bool> RegistryStore::DeleteArtifactIfUntagged(int64_t artifact_id,
                                                      int64_t pushed_before) {
  bool deleted = false;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, true, [&](SqlTransaction& tx) -> Status {
    deleted = false;
    auto a = tx.Exec(
        "SELECT a.repository_id, a.digest, r.name, a.subject_digest FROM artifact a "
        "JOIN repository r ON r.id = a.repository_id WHERE a.id = $1",
        {SqlInt(artifact_id)});
    if (!a.ok()) return a.status();
    if (a->rows.empty()) return {};
    // Quota lock, then the digest's: the order every writer takes them in.
    BERTH_ASSIGN_OR_RETURN(auto quota, LockQuotaOf(tx, db_.dialect(), a->rows[0].Text(2)));
    std::vector<std::string> locked = {a->rows[0].Text(1)};
    if (!a->rows[0].IsNull(3)) locked.push_back(a->rows[0].Text(3));  // a referrer's subject
    BERTH_RETURN_IF_ERROR(LockDigests(tx, db_.dialect(), std::move(locked)));
    // Re-checked under the lock: a push that tags it, pushes it again, or
    // pushes its subject meanwhile keeps it.
    auto still = tx.Exec(
        "SELECT 1 FROM artifact a WHERE a.id = $1 AND a.push_time < $2 AND "
        "NOT EXISTS (SELECT 1 FROM tag t WHERE t.artifact_id = a.id) AND "
        "NOT EXISTS (SELECT 1 FROM artifact_reference ar WHERE ar.child_id = a.id) AND "
        "(a.subject_digest IS NULL OR NOT EXISTS (SELECT 1 FROM artifact s WHERE "
        " s.repository_id = a.repository_id AND s.digest = a.subject_digest))",
        {SqlInt(artifact_id), SqlInt(pushed_before)});
    if (!still.ok()) return still.status();
    if (still->rows.empty()) return {};
    std::set<std::string> touched;
    BERTH_RETURN_IF_ERROR(DeleteArtifactDeep(tx, a->rows[0].Int(0), artifact_id, &touched));
    BERTH_RETURN_IF_ERROR(ReconcileIf(tx, quota, touched, false));
    deleted = true;
    return {};
  }));
  return deleted;
}

StatusOr<NamePage> RegistryStore::ListTags(std::string_view repo, std::string_view last,
                                           int64_t limit) {
  NamePage page;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto repo_id, RepositoryId(tx, repo));
    if (!repo_id) {
      return Status::NotFound("repository name not known to registry", "NAME_UNKNOWN");
    }
    auto r = tx.Exec(
        "SELECT name FROM tag WHERE repository_id = $1 AND name > $2 ORDER BY name LIMIT $3",
        {SqlInt(*repo_id), SqlText(last), SqlInt(limit + 1)});
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) page.names.push_back(row.Text(0));
    return {};
  }));
  if (static_cast<int64_t>(page.names.size()) > limit) {
    page.names.resize(static_cast<size_t>(limit));
    page.more = true;
  }
  return page;
}

StatusOr<std::vector<ArtifactRecord>> RegistryStore::ListReferrers(
    std::string_view repo, std::string_view digest, std::string_view artifact_type) {
  std::vector<ArtifactRecord> out;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db_, false, [&](SqlTransaction& tx) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto repo_id, RepositoryId(tx, repo));
    // Nothing pushed yet: nothing refers to anything. The distribution spec
    // forbids a 404 from the referrers API, so this is an empty list, not
    // NAME_UNKNOWN (whether the caller may ask at all is checked above us).
    if (!repo_id) return {};
    std::string sql = SelectSql(
        kArtifactColumns, "FROM artifact a WHERE a.repository_id = $1 AND a.subject_digest = $2");
    std::vector<SqlValue> params = {SqlInt(*repo_id), SqlText(digest)};
    if (!artifact_type.empty()) {
      sql += " AND a.artifact_type = $3";
      params.push_back(SqlText(artifact_type));
    }
    sql += " ORDER BY a.push_time, a.id";
    auto r = tx.Exec(sql, params);
    if (!r.ok()) return r.status();
    for (const auto& row : r->rows) out.push_back(ReadArtifact(row));
    return {};
  }));
  return out;
}

}  // namespace berth
