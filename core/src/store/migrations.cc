#include "store/migrations.h"

#include "common/clock.h"

namespace berth {

const std::vector<Migration>& AllMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       "registry core: repositories, blobs, artifacts, tags, references, uploads",
       {
           R"(CREATE TABLE repository (
                id {{ID}},
                name {{NAME}} NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL))",
           R"(CREATE TABLE blob (
                digest TEXT PRIMARY KEY,
                size BIGINT NOT NULL,
                created_at BIGINT NOT NULL))",
           R"(CREATE TABLE repository_blob (
                repository_id BIGINT NOT NULL REFERENCES repository(id) ON DELETE CASCADE,
                digest TEXT NOT NULL REFERENCES blob(digest),
                created_at BIGINT NOT NULL,
                PRIMARY KEY (repository_id, digest)))",
           R"(CREATE INDEX repository_blob_digest_idx ON repository_blob (digest))",
           R"(CREATE TABLE artifact (
                id {{ID}},
                repository_id BIGINT NOT NULL REFERENCES repository(id) ON DELETE CASCADE,
                digest TEXT NOT NULL,
                media_type TEXT NOT NULL,
                artifact_type TEXT NOT NULL DEFAULT '',
                manifest_size BIGINT NOT NULL,
                size BIGINT NOT NULL,
                subject_digest TEXT,
                annotations TEXT NOT NULL DEFAULT '',
                push_time BIGINT NOT NULL,
                pull_time BIGINT NOT NULL DEFAULT 0,
                UNIQUE (repository_id, digest)))",
           R"(CREATE INDEX artifact_subject_idx ON artifact (repository_id, subject_digest))",
           R"(CREATE TABLE artifact_blob (
                artifact_id BIGINT NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
                digest TEXT NOT NULL,
                PRIMARY KEY (artifact_id, digest)))",
           R"(CREATE INDEX artifact_blob_digest_idx ON artifact_blob (digest))",
           R"(CREATE TABLE artifact_reference (
                parent_id BIGINT NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
                child_id BIGINT NOT NULL REFERENCES artifact(id),
                child_digest TEXT NOT NULL,
                platform TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (parent_id, child_digest)))",
           R"(CREATE INDEX artifact_reference_child_idx ON artifact_reference (child_id))",
           R"(CREATE TABLE tag (
                id {{ID}},
                repository_id BIGINT NOT NULL REFERENCES repository(id) ON DELETE CASCADE,
                artifact_id BIGINT NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
                name {{NAME}} NOT NULL,
                push_time BIGINT NOT NULL,
                pull_time BIGINT NOT NULL DEFAULT 0,
                UNIQUE (repository_id, name)))",
           R"(CREATE INDEX tag_artifact_idx ON tag (artifact_id))",
           R"(CREATE TABLE upload (
                uuid TEXT PRIMARY KEY,
                repository {{NAME}} NOT NULL,
                started_at BIGINT NOT NULL))",
       }},
      {2,
       "identity: users, groups, projects, members, robots, sessions, audit log",
       {
           R"(CREATE TABLE harbor_user (
                user_id {{ID}},
                username {{NAME}} NOT NULL UNIQUE,
                email TEXT NOT NULL DEFAULT '',
                realname TEXT NOT NULL DEFAULT '',
                comment TEXT NOT NULL DEFAULT '',
                password_hash TEXT NOT NULL DEFAULT '',
                sysadmin_flag INTEGER NOT NULL DEFAULT 0,
                auth_source TEXT NOT NULL DEFAULT 'db',
                subject TEXT NOT NULL DEFAULT '',
                cli_secret_hash TEXT NOT NULL DEFAULT '',
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL))",
           R"(CREATE INDEX harbor_user_subject_idx ON harbor_user (subject))",
           R"(CREATE TABLE user_group (
                id {{ID}},
                group_name TEXT NOT NULL,
                group_type INTEGER NOT NULL,
                ldap_group_dn TEXT NOT NULL DEFAULT '',
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                UNIQUE (group_type, group_name, ldap_group_dn)))",
           R"(CREATE TABLE user_group_membership (
                user_id BIGINT NOT NULL REFERENCES harbor_user(user_id) ON DELETE CASCADE,
                group_id BIGINT NOT NULL REFERENCES user_group(id) ON DELETE CASCADE,
                PRIMARY KEY (user_id, group_id)))",
           R"(CREATE TABLE project (
                project_id {{ID}},
                name {{NAME}} NOT NULL UNIQUE,
                owner_id BIGINT NOT NULL,
                registry_id BIGINT NOT NULL DEFAULT 0,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL))",
           R"(CREATE TABLE project_metadata (
                project_id BIGINT NOT NULL REFERENCES project(project_id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (project_id, name)))",
           R"(CREATE TABLE project_member (
                id {{ID}},
                project_id BIGINT NOT NULL REFERENCES project(project_id) ON DELETE CASCADE,
                entity_id BIGINT NOT NULL,
                entity_type TEXT NOT NULL,
                role INTEGER NOT NULL,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                UNIQUE (project_id, entity_id, entity_type)))",
           R"(CREATE INDEX project_member_entity_idx ON project_member (entity_type, entity_id))",
           R"(CREATE TABLE robot (
                id {{ID}},
                name {{NAME}} NOT NULL UNIQUE,
                description TEXT NOT NULL DEFAULT '',
                secret_hash TEXT NOT NULL,
                level TEXT NOT NULL,
                project_id BIGINT NOT NULL DEFAULT 0,
                duration BIGINT NOT NULL DEFAULT -1,
                expires_at BIGINT NOT NULL DEFAULT -1,
                disabled INTEGER NOT NULL DEFAULT 0,
                permissions TEXT NOT NULL DEFAULT '[]',
                creator_type TEXT NOT NULL DEFAULT '',
                creator_ref TEXT NOT NULL DEFAULT '',
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL))",
           R"(CREATE TABLE session (
                id_hash TEXT PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES harbor_user(user_id) ON DELETE CASCADE,
                csrf_token TEXT NOT NULL,
                creation_time BIGINT NOT NULL,
                expires_at BIGINT NOT NULL))",
           R"(CREATE TABLE audit_log (
                id {{ID}},
                project_id BIGINT NOT NULL DEFAULT 0,
                username TEXT NOT NULL,
                resource TEXT NOT NULL,
                resource_type TEXT NOT NULL,
                operation TEXT NOT NULL,
                operation_result TEXT NOT NULL,
                op_time BIGINT NOT NULL))",
           R"(CREATE INDEX audit_log_time_idx ON audit_log (op_time))",
           R"(ALTER TABLE repository ADD COLUMN project_id BIGINT NOT NULL DEFAULT 0)",
           R"(ALTER TABLE repository ADD COLUMN pull_count BIGINT NOT NULL DEFAULT 0)",
           R"(ALTER TABLE repository ADD COLUMN description TEXT NOT NULL DEFAULT '')",
       }},
      {3,
       "users: administrator through the identity provider, kept apart from the flag",
       {
           R"(ALTER TABLE harbor_user ADD COLUMN admin_in_auth INTEGER NOT NULL DEFAULT 0)",
       }},
      {4,
       "names users and groups sort by: bytewise on PostgreSQL too, as on SQLite",
       {
           R"({{POSTGRES}}ALTER TABLE user_group ALTER COLUMN group_name TYPE TEXT COLLATE "C")",
           R"({{POSTGRES}}ALTER TABLE user_group ALTER COLUMN ldap_group_dn TYPE TEXT COLLATE "C")",
           R"({{POSTGRES}}ALTER TABLE harbor_user ALTER COLUMN email TYPE TEXT COLLATE "C")",
           R"({{POSTGRES}}ALTER TABLE harbor_user ALTER COLUMN realname TYPE TEXT COLLATE "C")",
           R"({{POSTGRES}}ALTER TABLE robot ALTER COLUMN description TYPE TEXT COLLATE "C")",
       }},
      {5,
       "job service: durable jobs with leases, job logs, queues, worker pools, schedules",
       {
           R"(CREATE TABLE job (
                id {{ID}},
                kind TEXT NOT NULL,
                params TEXT NOT NULL DEFAULT '{}',
                status TEXT NOT NULL,
                trigger_kind TEXT NOT NULL DEFAULT 'Manual',
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL DEFAULT 1,
                lost INTEGER NOT NULL DEFAULT 0,
                run_at BIGINT NOT NULL,
                enqueue_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                start_time BIGINT NOT NULL DEFAULT 0,
                end_time BIGINT NOT NULL DEFAULT 0,
                worker TEXT NOT NULL DEFAULT '',
                lease_token TEXT NOT NULL DEFAULT '',
                lease_expires_at BIGINT NOT NULL DEFAULT 0,
                check_in TEXT NOT NULL DEFAULT '',
                error TEXT NOT NULL DEFAULT '',
                vendor_type TEXT NOT NULL DEFAULT '',
                vendor_id BIGINT NOT NULL DEFAULT 0,
                stop_requested INTEGER NOT NULL DEFAULT 0))",
           R"(CREATE INDEX job_runnable_idx ON job (status, run_at))",
           R"(CREATE INDEX job_vendor_idx ON job (vendor_type, vendor_id, id))",
           R"(CREATE TABLE job_log (
                id {{ID}},
                job_id BIGINT NOT NULL,
                ts BIGINT NOT NULL,
                line TEXT NOT NULL))",
           R"(CREATE INDEX job_log_job_idx ON job_log (job_id, id))",
           R"(CREATE TABLE job_queue (
                kind TEXT PRIMARY KEY,
                paused INTEGER NOT NULL DEFAULT 0,
                update_time BIGINT NOT NULL))",
           R"(CREATE TABLE job_pool (
                pool_id TEXT PRIMARY KEY,
                pid BIGINT NOT NULL,
                host TEXT NOT NULL,
                concurrency INTEGER NOT NULL,
                start_at BIGINT NOT NULL,
                heartbeat_at BIGINT NOT NULL))",
           R"(CREATE TABLE schedule (
                id {{ID}},
                vendor_type TEXT NOT NULL,
                vendor_id BIGINT NOT NULL DEFAULT 0,
                cron TEXT NOT NULL,
                kind TEXT NOT NULL,
                params TEXT NOT NULL DEFAULT '{}',
                next_run BIGINT NOT NULL,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                UNIQUE (vendor_type, vendor_id)))",
           // Garbage collection: a blob row with deleting = 1 is being removed
           // (its file may already be gone) and counts as absent everywhere;
           // touched_at is the last time a client saw the link (refreshed at
           // most every half GC window) so GC leaves alone what a push in
           // progress may still reference.
           R"(ALTER TABLE blob ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0)",
           R"(ALTER TABLE repository_blob ADD COLUMN touched_at BIGINT NOT NULL DEFAULT 0)",
           R"(UPDATE repository_blob SET touched_at = created_at)",
           R"(CREATE INDEX artifact_digest_idx ON artifact (digest))",
       }},
      // (5 belongs to another change; Migrate applies each version not yet
      // recorded, so the gap is harmless.) Idempotent statements: a database
      // whose later rows of schema_migrations were removed can rerun them.
      {6,
       "quotas: project storage limits, and usage kept with the references it counts",
       {
           R"(CREATE TABLE IF NOT EXISTS quota (
                id {{ID}},
                reference TEXT NOT NULL,
                reference_id BIGINT NOT NULL,
                hard_storage BIGINT NOT NULL DEFAULT -1,
                used_storage BIGINT NOT NULL DEFAULT 0,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                UNIQUE (reference, reference_id)))",
           // What each project is charged for, once per digest (see
           // store/storage_accounting.h).
           R"(CREATE TABLE IF NOT EXISTS project_blob (
                project_id BIGINT NOT NULL,
                digest TEXT NOT NULL,
                size BIGINT NOT NULL,
                PRIMARY KEY (project_id, digest)))",
           R"(CREATE INDEX IF NOT EXISTS project_blob_digest_idx ON project_blob (digest))",
           // Blobs uploaded or mounted into a repository that no manifest of
           // it has claimed yet: they count until claimed, unlinked or stale.
           R"(CREATE TABLE IF NOT EXISTS blob_pending (
                repository_id BIGINT NOT NULL,
                digest TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (repository_id, digest)))",
           R"(CREATE INDEX IF NOT EXISTS blob_pending_digest_idx ON blob_pending (digest))",
           R"(CREATE INDEX IF NOT EXISTS blob_pending_created_idx ON blob_pending (created_at))",
           R"(CREATE INDEX IF NOT EXISTS artifact_digest_idx ON artifact (digest))",
           R"(CREATE INDEX IF NOT EXISTS repository_project_idx ON repository (project_id))",
           // Existing projects: unlimited, charged with what their artifacts use.
           R"(INSERT INTO quota (reference, reference_id, hard_storage, used_storage,
                                 creation_time, update_time)
                SELECT 'project', project_id, -1, 0, creation_time, creation_time FROM project
                WHERE true ON CONFLICT (reference, reference_id) DO NOTHING)",
           R"(INSERT INTO project_blob (project_id, digest, size)
                SELECT project_id, digest, size FROM (
                  SELECT c.project_id AS project_id, c.digest AS digest, MAX(c.size) AS size FROM (
                    SELECT r.project_id AS project_id, ab.digest AS digest,
                           COALESCE(b.size, 0) AS size
                      FROM artifact_blob ab JOIN artifact a ON a.id = ab.artifact_id
                      JOIN repository r ON r.id = a.repository_id
                      LEFT JOIN blob b ON b.digest = ab.digest
                    UNION ALL
                    SELECT r.project_id, a.digest, a.manifest_size
                      FROM artifact a JOIN repository r ON r.id = a.repository_id) c
                  JOIN quota q ON q.reference = 'project' AND q.reference_id = c.project_id
                  GROUP BY c.project_id, c.digest) t
                WHERE true ON CONFLICT (project_id, digest) DO NOTHING)",
           R"(UPDATE quota SET used_storage = COALESCE((SELECT SUM(pb.size) FROM project_blob pb
                WHERE pb.project_id = quota.reference_id), 0) WHERE reference = 'project')",
       }},
      {7,
       "artifact management: Harbor's artifact types, accessories and extra attributes",
       {
           // Harbor's type (IMAGE, CHART, ...), decided at push.
           R"(ALTER TABLE artifact ADD COLUMN harbor_type TEXT NOT NULL DEFAULT '')",
           // Read from the config blob at push (architecture, os, ...).
           R"(ALTER TABLE artifact ADD COLUMN extra_attrs TEXT NOT NULL DEFAULT '')",
           // The subject's digest when the artifact is an accessory (a
           // referrer, a cosign tag-scheme signature): hidden from lists,
           // deleted with its subject.
           R"(ALTER TABLE artifact ADD COLUMN accessory_of TEXT NOT NULL DEFAULT '')",
           R"(ALTER TABLE artifact ADD COLUMN accessory_type TEXT NOT NULL DEFAULT '')",
           R"(UPDATE artifact SET harbor_type = CASE
                WHEN artifact_type = 'application/vnd.cncf.helm.config.v1+json' THEN 'CHART'
                WHEN artifact_type = 'application/vnd.cnab.config.v1+json' THEN 'CNAB'
                WHEN artifact_type IN ('application/vnd.dev.cosign.artifact.sig.v1+json',
                                       'application/vnd.cncf.notary.signature') THEN 'SIGNATURE'
                WHEN artifact_type IN ('application/spdx+json', 'application/vnd.cyclonedx+json')
                  THEN 'SBOM'
                WHEN artifact_type IN ('application/vnd.oci.image.config.v1+json',
                                       'application/vnd.docker.container.image.v1+json')
                  OR media_type IN ('application/vnd.oci.image.index.v1+json',
                                    'application/vnd.docker.distribution.manifest.list.v2+json')
                  THEN 'IMAGE'
                ELSE 'UNKNOWN' END)",
           R"(UPDATE artifact SET accessory_of = subject_digest, accessory_type = 'subject.accessory'
                WHERE subject_digest IS NOT NULL)",
           R"(UPDATE artifact SET harbor_type = 'SIGNATURE', accessory_type = 'signature.cosign',
                accessory_of = (SELECT 'sha256:' || substr(t.name, 8, 64) FROM tag t
                                WHERE t.artifact_id = artifact.id AND t.name LIKE 'sha256-%.sig'
                                AND length(t.name) = 75 LIMIT 1)
                WHERE accessory_of = '' AND EXISTS (SELECT 1 FROM tag t WHERE t.artifact_id = artifact.id
                  AND t.name LIKE 'sha256-%.sig' AND length(t.name) = 75))",
           // What Harbor lists: neither an accessory nor an index's child.
           // Kept by the writers, so a list of 100,000 artifacts pages
           // through an index instead of probing references row by row.
           R"(ALTER TABLE artifact ADD COLUMN top_level INTEGER NOT NULL DEFAULT 1)",
           R"(UPDATE artifact SET top_level = 0 WHERE accessory_of <> '' OR EXISTS
                (SELECT 1 FROM artifact_reference ar WHERE ar.child_id = artifact.id))",
           R"(CREATE INDEX artifact_listing_idx ON artifact (repository_id, top_level, push_time, id))",
           R"(CREATE INDEX artifact_accessory_idx ON artifact (repository_id, accessory_of))",
       }},
      {8,
       "configurations: the system settings changed through /api/v2.0/configurations",
       {
           R"(CREATE TABLE IF NOT EXISTS config_item (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                update_time BIGINT NOT NULL))",
       }},
      {9,
       "labels: global and project labels, and the labels attached to artifacts",
       {
           // A global label has a NULL project_id, so a project's labels go
           // with it; names are unique per project, and among global labels.
           R"(CREATE TABLE IF NOT EXISTS label (
                id {{ID}},
                name {{NAME}} NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                color TEXT NOT NULL DEFAULT '',
                project_id BIGINT REFERENCES project(project_id) ON DELETE CASCADE,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                UNIQUE (project_id, name)))",
           R"(CREATE UNIQUE INDEX IF NOT EXISTS label_global_name_idx ON label (name)
                WHERE project_id IS NULL)",
           R"(CREATE TABLE IF NOT EXISTS artifact_label (
                artifact_id BIGINT NOT NULL REFERENCES artifact(id) ON DELETE CASCADE,
                label_id BIGINT NOT NULL REFERENCES label(id) ON DELETE CASCADE,
                creation_time BIGINT NOT NULL,
                PRIMARY KEY (artifact_id, label_id)))",
           R"(CREATE INDEX IF NOT EXISTS artifact_label_label_idx ON artifact_label (label_id))",
       }},
      {10,
       "immutable tag rules: per project, one repository and one tag selector each",
       {
           // No two rules of a project with the same selectors (Harbor: 409).
           R"(CREATE TABLE IF NOT EXISTS immutable_tag_rule (
                id {{ID}},
                project_id BIGINT NOT NULL REFERENCES project(project_id) ON DELETE CASCADE,
                disabled INTEGER NOT NULL DEFAULT 0,
                priority BIGINT NOT NULL DEFAULT 0,
                action TEXT NOT NULL,
                template_name TEXT NOT NULL,
                repo_kind TEXT NOT NULL,
                repo_decoration TEXT NOT NULL,
                repo_pattern {{NAME}} NOT NULL,
                tag_kind TEXT NOT NULL,
                tag_decoration TEXT NOT NULL,
                tag_pattern {{NAME}} NOT NULL,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                UNIQUE (project_id, repo_kind, repo_decoration, repo_pattern, tag_kind,
                        tag_decoration, tag_pattern)))",
       }},
      {11,
       "signing: the public keys a project trusts for cosign signatures",
       {
           // Never edited, only added and removed: the ids name the key set.
           R"(CREATE TABLE IF NOT EXISTS trusted_key (
                id {{ID}},
                project_id BIGINT NOT NULL REFERENCES project(project_id) ON DELETE CASCADE,
                description TEXT NOT NULL DEFAULT '',
                algorithm TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                public_key TEXT NOT NULL,
                creator TEXT NOT NULL DEFAULT '',
                creation_time BIGINT NOT NULL,
                UNIQUE (project_id, fingerprint)))",
       }},
      {12,
       "tag retention: one policy per project, and the per-repository tasks of its runs",
       {
           R"(CREATE TABLE IF NOT EXISTS retention_policy (
                id {{ID}},
                project_id BIGINT NOT NULL UNIQUE REFERENCES project(project_id) ON DELETE CASCADE,
                policy TEXT NOT NULL,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL))",
           // execution_id is the RETENTION job; a task is one repository.
           R"(CREATE TABLE IF NOT EXISTS retention_task (
                id {{ID}},
                execution_id BIGINT NOT NULL,
                policy_id BIGINT NOT NULL,
                repository TEXT NOT NULL,
                status TEXT NOT NULL,
                start_time BIGINT NOT NULL DEFAULT 0,
                end_time BIGINT NOT NULL DEFAULT 0,
                total BIGINT NOT NULL DEFAULT 0,
                retained BIGINT NOT NULL DEFAULT 0,
                log TEXT NOT NULL DEFAULT '',
                update_time BIGINT NOT NULL,
                UNIQUE (execution_id, repository)))",
           R"(CREATE INDEX IF NOT EXISTS retention_task_policy_idx ON retention_task (policy_id))",
       }},
      {13,
       "webhook policies: Harbor's project notification policies and their last triggers",
       {
           // Targets and event types are JSON arrays, read and written whole.
           R"(CREATE TABLE IF NOT EXISTS webhook_policy (
                id {{ID}},
                name {{NAME}} NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                project_id BIGINT NOT NULL REFERENCES project(project_id) ON DELETE CASCADE,
                targets TEXT NOT NULL,
                event_types TEXT NOT NULL,
                creator TEXT NOT NULL DEFAULT '',
                enabled INTEGER NOT NULL DEFAULT 1,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                UNIQUE (project_id, name)))",
           R"(CREATE TABLE IF NOT EXISTS webhook_last_trigger (
                policy_id BIGINT NOT NULL REFERENCES webhook_policy(id) ON DELETE CASCADE,
                event_type TEXT NOT NULL,
                last_trigger_time BIGINT NOT NULL,
                PRIMARY KEY (policy_id, event_type)))",
       }},
      {14,
       "scanning: scanner registrations, project scanners, reports and their findings",
       {
           // provider: the scanner plugin's provider; config: its JSON config.
           R"(CREATE TABLE IF NOT EXISTS scanner_registration (
                id {{ID}},
                uuid TEXT NOT NULL UNIQUE,
                name {{NAME}} NOT NULL UNIQUE,
                description TEXT NOT NULL DEFAULT '',
                url TEXT NOT NULL,
                provider TEXT NOT NULL,
                config TEXT NOT NULL DEFAULT '{}',
                auth TEXT NOT NULL DEFAULT '',
                access_credential TEXT NOT NULL DEFAULT '',
                disabled INTEGER NOT NULL DEFAULT 0,
                is_default INTEGER NOT NULL DEFAULT 0,
                skip_cert_verify INTEGER NOT NULL DEFAULT 0,
                use_internal_addr INTEGER NOT NULL DEFAULT 0,
                from_config INTEGER NOT NULL DEFAULT 0,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL))",
           R"(CREATE TABLE IF NOT EXISTS project_scanner (
                project_id BIGINT PRIMARY KEY REFERENCES project(project_id) ON DELETE CASCADE,
                registration_uuid TEXT NOT NULL REFERENCES scanner_registration(uuid) ON DELETE CASCADE))",
           // One report per artifact digest, registration and report mime type
           // (Harbor's scan_report); job_id is the SCAN job that fills it.
           R"(CREATE TABLE IF NOT EXISTS scan_report (
                id {{ID}},
                uuid TEXT NOT NULL UNIQUE,
                digest TEXT NOT NULL,
                registration_uuid TEXT NOT NULL REFERENCES scanner_registration(uuid) ON DELETE CASCADE,
                mime_type TEXT NOT NULL,
                scan_type TEXT NOT NULL,
                project_id BIGINT NOT NULL,
                repository TEXT NOT NULL,
                status TEXT NOT NULL,
                job_id BIGINT NOT NULL DEFAULT 0,
                start_time BIGINT NOT NULL DEFAULT 0,
                end_time BIGINT NOT NULL DEFAULT 0,
                severity INTEGER NOT NULL DEFAULT 0,
                total BIGINT NOT NULL DEFAULT 0,
                fixable BIGINT NOT NULL DEFAULT 0,
                summary TEXT NOT NULL DEFAULT '{}',
                scanner TEXT NOT NULL DEFAULT '{}',
                report TEXT NOT NULL DEFAULT '',
                sbom_digest TEXT NOT NULL DEFAULT '',
                error TEXT NOT NULL DEFAULT '',
                UNIQUE (digest, registration_uuid, mime_type)))",
           R"(CREATE INDEX IF NOT EXISTS scan_report_job_idx ON scan_report (job_id))",
           R"(CREATE INDEX IF NOT EXISTS scan_report_repo_idx ON scan_report (repository, digest))",
           // Findings as rows for the pull gate and the security hub;
           // cvss_v3_score is the score times ten (0..100), -1 when unknown.
           R"(CREATE TABLE IF NOT EXISTS vulnerability_finding (
                id {{ID}},
                report_id BIGINT NOT NULL REFERENCES scan_report(id) ON DELETE CASCADE,
                project_id BIGINT NOT NULL,
                repository TEXT NOT NULL,
                digest TEXT NOT NULL,
                cve_id TEXT NOT NULL,
                package TEXT NOT NULL,
                version TEXT NOT NULL DEFAULT '',
                fixed_version TEXT NOT NULL DEFAULT '',
                severity INTEGER NOT NULL,
                cvss_v3_score INTEGER NOT NULL DEFAULT -1,
                description TEXT NOT NULL DEFAULT '',
                links TEXT NOT NULL DEFAULT '[]'))",
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_report_idx ON vulnerability_finding (report_id))",
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_cve_idx ON vulnerability_finding (cve_id))",
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_package_idx ON vulnerability_finding (package))",
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_severity_idx ON vulnerability_finding (severity, cvss_v3_score))",
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_artifact_idx ON vulnerability_finding (project_id, repository, digest))",
       }},
      {15,
       "CVE allowlists: the system's (project_id 0) and each project's own",
       {
           // No foreign key: project_id 0 is the system list. A project's row
           // is deleted with the project (ProjectStore::Delete); project ids
           // are never reused, so a leftover row could never be read anyway.
           // items: a JSON array of CVE ids, read and written whole.
           R"(CREATE TABLE IF NOT EXISTS cve_allowlist (
                id {{ID}},
                project_id BIGINT NOT NULL UNIQUE,
                expires_at BIGINT,
                items TEXT NOT NULL,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL))",
       }},
      {16,
       "P2P preheat: provider instances, project policies and the per-artifact tasks of their runs",
       {
           // auth_data holds the instance's credentials (JSON); the API never
           // returns them in clear.
           R"(CREATE TABLE IF NOT EXISTS p2p_preheat_instance (
                id {{ID}},
                name {{NAME}} NOT NULL UNIQUE,
                description TEXT NOT NULL DEFAULT '',
                vendor TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                auth_mode TEXT NOT NULL DEFAULT 'NONE',
                auth_data TEXT NOT NULL DEFAULT '{}',
                enabled INTEGER NOT NULL DEFAULT 1,
                is_default INTEGER NOT NULL DEFAULT 0,
                insecure INTEGER NOT NULL DEFAULT 0,
                setup_timestamp BIGINT NOT NULL))",
           // A policy keeps its instance: deleting an instance in use is refused.
           R"(CREATE TABLE IF NOT EXISTS p2p_preheat_policy (
                id {{ID}},
                name {{NAME}} NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                project_id BIGINT NOT NULL REFERENCES project(project_id) ON DELETE CASCADE,
                provider_id BIGINT NOT NULL REFERENCES p2p_preheat_instance(id),
                filters TEXT NOT NULL,
                trigger_json TEXT NOT NULL,
                scope TEXT NOT NULL DEFAULT 'single_peer',
                extra_attrs TEXT NOT NULL DEFAULT '',
                enabled INTEGER NOT NULL DEFAULT 1,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL,
                UNIQUE (project_id, name)))",
           R"(CREATE INDEX IF NOT EXISTS p2p_preheat_policy_provider_idx
                ON p2p_preheat_policy (provider_id))",
           // execution_id is the P2P_PREHEAT job; a task is one artifact (tag).
           // Tasks go with their policy (and so with its project).
           R"(CREATE TABLE IF NOT EXISTS p2p_preheat_task (
                id {{ID}},
                execution_id BIGINT NOT NULL,
                policy_id BIGINT NOT NULL REFERENCES p2p_preheat_policy(id) ON DELETE CASCADE,
                repository TEXT NOT NULL,
                tag TEXT NOT NULL,
                digest TEXT NOT NULL,
                status TEXT NOT NULL,
                status_message TEXT NOT NULL DEFAULT '',
                provider_task_id TEXT NOT NULL DEFAULT '',
                run_count INTEGER NOT NULL DEFAULT 0,
                creation_time BIGINT NOT NULL,
                start_time BIGINT NOT NULL DEFAULT 0,
                end_time BIGINT NOT NULL DEFAULT 0,
                update_time BIGINT NOT NULL,
                log TEXT NOT NULL DEFAULT '',
                UNIQUE (execution_id, repository, tag)))",
           R"(CREATE INDEX IF NOT EXISTS p2p_preheat_task_policy_idx ON p2p_preheat_task (policy_id))",
       }},
      {17,
       "replication: remote registries, replication policies and the per-artifact tasks of their runs",
       {
           // access_secret is sealed (common/secret_box.h), never plain text.
           R"(CREATE TABLE IF NOT EXISTS remote_registry (
                id {{ID}},
                name {{NAME}} NOT NULL UNIQUE,
                description TEXT NOT NULL DEFAULT '',
                type TEXT NOT NULL,
                url TEXT NOT NULL,
                credential_type TEXT NOT NULL DEFAULT '',
                access_key TEXT NOT NULL DEFAULT '',
                access_secret TEXT NOT NULL DEFAULT '',
                insecure INTEGER NOT NULL DEFAULT 0,
                ca_certificate TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL DEFAULT '',
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL))",
           // A registry id of 0 is the local Berth. The rest of the policy is
           // JSON read and written whole.
           R"(CREATE TABLE IF NOT EXISTS replication_policy (
                id {{ID}},
                name {{NAME}} NOT NULL UNIQUE,
                src_registry_id BIGINT NOT NULL DEFAULT 0,
                dest_registry_id BIGINT NOT NULL DEFAULT 0,
                enabled INTEGER NOT NULL DEFAULT 1,
                policy TEXT NOT NULL,
                creation_time BIGINT NOT NULL,
                update_time BIGINT NOT NULL))",
           // execution_id is the REPLICATION job; a task is one artifact
           // (copy) or one deletion. A run taken over after a crash keeps its
           // tasks and skips the finished ones.
           R"(CREATE TABLE IF NOT EXISTS replication_task (
                id {{ID}},
                execution_id BIGINT NOT NULL,
                policy_id BIGINT NOT NULL,
                resource_type TEXT NOT NULL,
                operation TEXT NOT NULL,
                src_resource TEXT NOT NULL,
                dst_resource TEXT NOT NULL,
                status TEXT NOT NULL,
                start_time BIGINT NOT NULL DEFAULT 0,
                end_time BIGINT NOT NULL DEFAULT 0,
                bytes BIGINT NOT NULL DEFAULT 0,
                log TEXT NOT NULL DEFAULT '',
                update_time BIGINT NOT NULL,
                UNIQUE (execution_id, operation, src_resource)))",
           R"(CREATE INDEX IF NOT EXISTS replication_task_policy_idx ON replication_task (policy_id))",
       }},
      {19,
       "security hub: per-severity counts on scan reports, finding indexes for the list's order and tag filter",
       {
           // Harbor's scan_report counters: the summary and the dangerous
           // artifacts add up report rows instead of grouping every finding.
           R"(ALTER TABLE scan_report ADD COLUMN critical_cnt BIGINT NOT NULL DEFAULT 0)",
           R"(ALTER TABLE scan_report ADD COLUMN high_cnt BIGINT NOT NULL DEFAULT 0)",
           R"(ALTER TABLE scan_report ADD COLUMN medium_cnt BIGINT NOT NULL DEFAULT 0)",
           R"(ALTER TABLE scan_report ADD COLUMN low_cnt BIGINT NOT NULL DEFAULT 0)",
           R"(ALTER TABLE scan_report ADD COLUMN none_cnt BIGINT NOT NULL DEFAULT 0)",
           R"(ALTER TABLE scan_report ADD COLUMN unknown_cnt BIGINT NOT NULL DEFAULT 0)",
           R"(UPDATE scan_report SET
                critical_cnt = (SELECT COUNT(*) FROM vulnerability_finding f WHERE f.report_id = scan_report.id AND f.severity = 5),
                high_cnt = (SELECT COUNT(*) FROM vulnerability_finding f WHERE f.report_id = scan_report.id AND f.severity = 4),
                medium_cnt = (SELECT COUNT(*) FROM vulnerability_finding f WHERE f.report_id = scan_report.id AND f.severity = 3),
                low_cnt = (SELECT COUNT(*) FROM vulnerability_finding f WHERE f.report_id = scan_report.id AND f.severity = 2),
                unknown_cnt = (SELECT COUNT(*) FROM vulnerability_finding f WHERE f.report_id = scan_report.id AND f.severity = 1),
                none_cnt = (SELECT COUNT(*) FROM vulnerability_finding f WHERE f.report_id = scan_report.id AND f.severity = 0))",
           // /security/vul's order (Harbor's: CVSS v3 first), walked by index,
           // also after an equality on the package (a LIMIT then stops early
           // instead of sorting, which PostgreSQL's planner otherwise misjudges).
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_order_idx ON vulnerability_finding (cvss_v3_score, severity, id))",
           R"(DROP INDEX IF EXISTS vulnerability_finding_package_idx)",
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_package_order_idx ON vulnerability_finding (package, cvss_v3_score, severity, id))",
           // The tag filter: (repository, digest) pairs of the tagged artifacts.
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_digest_idx ON vulnerability_finding (digest, repository))",
           // A project's findings, counted and narrowed by severity and score.
           R"(CREATE INDEX IF NOT EXISTS vulnerability_finding_project_idx ON vulnerability_finding (project_id, severity, cvss_v3_score))",
       }},
      {21,
       "repository.artifact_count kept by triggers",
       {
           // Harbor's artifact_count and the X-Total-Count of a repository's
           // artifact list, read in O(1) instead of counting an index range on
           // every page (100,000 artifacts in one repository). Triggers keep it
           // in the transaction that changes the artifact rows, whichever code
           // path does (push, delete, GC, retention, an index adopting a child).
           R"(ALTER TABLE repository ADD COLUMN artifact_count BIGINT NOT NULL DEFAULT 0)",
           R"(UPDATE repository SET artifact_count = (SELECT COUNT(*) FROM artifact a
                WHERE a.repository_id = repository.id AND a.top_level = 1))",
           R"({{SQLITE}}CREATE TRIGGER artifact_count_insert AFTER INSERT ON artifact
                WHEN NEW.top_level = 1 BEGIN
                  UPDATE repository SET artifact_count = artifact_count + 1 WHERE id = NEW.repository_id;
                END)",
           R"({{SQLITE}}CREATE TRIGGER artifact_count_delete AFTER DELETE ON artifact
                WHEN OLD.top_level = 1 BEGIN
                  UPDATE repository SET artifact_count = artifact_count - 1 WHERE id = OLD.repository_id;
                END)",
           R"({{SQLITE}}CREATE TRIGGER artifact_count_update AFTER UPDATE OF top_level, repository_id ON artifact
                WHEN OLD.top_level <> NEW.top_level OR OLD.repository_id <> NEW.repository_id BEGIN
                  UPDATE repository SET artifact_count = artifact_count - OLD.top_level WHERE id = OLD.repository_id;
                  UPDATE repository SET artifact_count = artifact_count + NEW.top_level WHERE id = NEW.repository_id;
                END)",
           R"({{POSTGRES}}CREATE FUNCTION artifact_count_keep() RETURNS trigger AS $$
                BEGIN
                  IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.top_level <> 0 THEN
                    UPDATE repository SET artifact_count = artifact_count - OLD.top_level
                      WHERE id = OLD.repository_id;
                  END IF;
                  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.top_level <> 0 THEN
                    UPDATE repository SET artifact_count = artifact_count + NEW.top_level
                      WHERE id = NEW.repository_id;
                  END IF;
                  RETURN NULL;
                END $$ LANGUAGE plpgsql)",
           R"({{POSTGRES}}CREATE TRIGGER artifact_count_insert_delete AFTER INSERT OR DELETE ON artifact
                FOR EACH ROW EXECUTE FUNCTION artifact_count_keep())",
           R"({{POSTGRES}}CREATE TRIGGER artifact_count_update AFTER UPDATE OF top_level, repository_id ON artifact
                FOR EACH ROW WHEN (OLD.top_level <> NEW.top_level OR OLD.repository_id <> NEW.repository_id)
                EXECUTE FUNCTION artifact_count_keep())",
       }},
      {22,
       "scan data export: the CVE export executions and the findings' CVSS v2, vectors and CWEs",
       {
           // What the CSV export writes besides the hub's columns (the
           // scanner's preferred_cvss and cwe_ids). -1: no v2 score.
           R"(ALTER TABLE vulnerability_finding ADD COLUMN cvss_v2_score INTEGER NOT NULL DEFAULT -1)",
           R"(ALTER TABLE vulnerability_finding ADD COLUMN cvss_v3_vector TEXT NOT NULL DEFAULT '')",
           R"(ALTER TABLE vulnerability_finding ADD COLUMN cvss_v2_vector TEXT NOT NULL DEFAULT '')",
           R"(ALTER TABLE vulnerability_finding ADD COLUMN cwe_ids TEXT NOT NULL DEFAULT '')",
           // The scanner's vendor_attributes (JSON; '' when none): the
           // export's "Additional Data".
           R"(ALTER TABLE vulnerability_finding ADD COLUMN vendor_attributes TEXT NOT NULL DEFAULT '')",
           // Reports indexed before these columns: the export reads the
           // extra columns from the stored report instead (0 = not indexed).
           R"(ALTER TABLE scan_report ADD COLUMN finding_details INTEGER NOT NULL DEFAULT 0)",
           // Harbor's scan data export executions (one per POST /export/cve);
           // the CSV lives in the storage driver at `file_path` until it is
           // downloaded or purged. One project per export, as Harbor allows.
           // job_id: the SCAN_DATA_EXPORT job that writes it.
           R"(CREATE TABLE IF NOT EXISTS scan_data_export (
                id {{ID}},
                user_id BIGINT NOT NULL,
                user_name {{NAME}} NOT NULL,
                job_name TEXT NOT NULL DEFAULT '',
                project_id BIGINT NOT NULL,
                request TEXT NOT NULL DEFAULT '{}',
                status TEXT NOT NULL,
                status_text TEXT NOT NULL DEFAULT '',
                job_id BIGINT NOT NULL DEFAULT 0,
                start_time BIGINT NOT NULL,
                end_time BIGINT NOT NULL DEFAULT 0,
                file_path TEXT NOT NULL DEFAULT '',
                file_digest TEXT NOT NULL DEFAULT '',
                file_size BIGINT NOT NULL DEFAULT 0,
                file_present INTEGER NOT NULL DEFAULT 0))",
           R"(CREATE INDEX IF NOT EXISTS scan_data_export_user_idx ON scan_data_export (user_name, id))",
           R"(CREATE INDEX IF NOT EXISTS scan_data_export_start_idx ON scan_data_export (start_time))",
           R"(CREATE INDEX IF NOT EXISTS scan_data_export_project_idx ON scan_data_export (project_id))",
       }},
      {23,
       "proxy-cache upstream slots",
       {
           // One row per upstream request of a proxy-cache project in flight
           // (max_upstream_conn), shared by the nodes; see UpstreamSlotStore.
           R"(CREATE TABLE upstream_slot (
                id {{ID}},
                project_id BIGINT NOT NULL REFERENCES project(project_id) ON DELETE CASCADE,
                taken_at BIGINT NOT NULL))",
           R"(CREATE INDEX upstream_slot_project_idx ON upstream_slot (project_id, taken_at))",
       }},
  };
  return kMigrations;
}

std::string RenderForDialect(const char* statement, SqlDialect dialect) {
  std::string s = statement;
  auto replace = [&](const std::string& token, const std::string& with) {
    for (size_t pos = s.find(token); pos != std::string::npos; pos = s.find(token, pos)) {
      s.replace(pos, token.size(), with);
      pos += with.size();
    }
  };
  bool pg = dialect == SqlDialect::kPostgres;
  // {{POSTGRES}} / {{SQLITE}} mark a statement only that dialect runs.
  if (s.rfind("{{POSTGRES}}", 0) == 0) return pg ? s.substr(12) : std::string();
  if (s.rfind("{{SQLITE}}", 0) == 0) return pg ? std::string() : s.substr(10);
  replace("{{ID}}", pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
  replace("{{NAME}}", pg ? "TEXT COLLATE \"C\"" : "TEXT");
  return s;
}

StatusOr<int> Migrate(SqlDatabase& db) {
  bool pg = db.dialect() == SqlDialect::kPostgres;
  BERTH_RETURN_IF_ERROR(RunInTransaction(db, true, [&](SqlTransaction& tx) -> Status {
    if (pg) {
      auto r = tx.Exec("SELECT pg_advisory_xact_lock(7324001)");
      if (!r.ok()) return r.status();
    }
    auto r = tx.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
    return r.status();
  }));
  int current = 0;
  for (const Migration& m : AllMigrations()) {
    Status s = RunInTransaction(db, true, [&](SqlTransaction& tx) -> Status {
      if (pg) {
        auto r = tx.Exec("SELECT pg_advisory_xact_lock(7324001)");
        if (!r.ok()) return r.status();
      }
      auto have = tx.Exec("SELECT 1 FROM schema_migrations WHERE version = $1", {SqlInt(m.version)});
      if (!have.ok()) return have.status();
      if (!have->rows.empty()) return {};
      for (const char* stmt : m.statements) {
        std::string sql = RenderForDialect(stmt, db.dialect());
        if (sql.empty()) continue;  // for the other dialect
        auto r = tx.Exec(sql);
        if (!r.ok()) {
          return Status::Internal("migration " + std::to_string(m.version) + " (" + m.name +
                                  ") failed: " + r.status().message());
        }
      }
      auto r = tx.Exec(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
          {SqlInt(m.version), SqlText(m.name), SqlInt(NowUnixMillis())});
      return r.status();
    });
    if (!s.ok()) return s;
    current = m.version;
  }
  return current;
}

}  // namespace berth
