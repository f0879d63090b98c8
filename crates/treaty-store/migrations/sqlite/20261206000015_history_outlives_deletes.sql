-- no-transaction
-- History is never erased by a delete: a ledger deployment no longer goes
-- with its version, pacticipant or environment (ON DELETE CASCADE); it stays,
-- with the names it was recorded with, and only loses the link (SET NULL).
--
-- SQLite cannot change a foreign key in place, so the table is rebuilt as its
-- documentation prescribes (https://www.sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"): with foreign keys off, so
-- that dropping the old table does not cascade into deployment_events and
-- incidents, inside one transaction. Every column stays, with its name, type
-- and data; only three NOT NULL constraints and three ON DELETE actions are
-- relaxed, so this is still an expansion: the previous release reads and
-- writes the table exactly as before (its joins simply do not see a deleted
-- thing's history). The statements can run again after a crash between the
-- commit and the migration's bookkeeping.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE deployments_keeping_history (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    pacticipant_id       INTEGER REFERENCES pacticipants (id) ON DELETE SET NULL,
    version_id           INTEGER REFERENCES versions (id) ON DELETE SET NULL,
    environment_id       INTEGER REFERENCES environments (id) ON DELETE SET NULL,
    application_instance TEXT,
    status               TEXT NOT NULL,
    deployed_by          TEXT,
    scm_branch           TEXT,
    scm_sha              TEXT,
    scm_repository       TEXT,
    build_url            TEXT,
    build_number         TEXT,
    source_system        TEXT,
    extra_metadata       TEXT,
    evidence             TEXT,
    rollback             INTEGER NOT NULL DEFAULT 0,
    deployed_version_id  INTEGER REFERENCES deployed_versions (id) ON DELETE SET NULL,
    created_at           TEXT NOT NULL,
    started_at           TEXT,
    finished_at          TEXT,
    updated_at           TEXT NOT NULL,
    scm_committed_at     TEXT,
    emergency            INTEGER NOT NULL DEFAULT 0,
    released             INTEGER NOT NULL DEFAULT 0,
    released_version_id  INTEGER REFERENCES released_versions (id) ON DELETE SET NULL,
    ended_at             TEXT,
    end_reason           TEXT,
    ended_by             TEXT,
    replaced_by_id       INTEGER,
    bypassed_gates       INTEGER NOT NULL DEFAULT 0,
    pacticipant_name     TEXT,
    version_number       TEXT,
    environment_name     TEXT
);
INSERT INTO deployments_keeping_history (id, pacticipant_id, version_id, environment_id, application_instance, status,
    deployed_by, scm_branch, scm_sha, scm_repository, build_url, build_number, source_system, extra_metadata, evidence,
    rollback, deployed_version_id, created_at, started_at, finished_at, updated_at, scm_committed_at, emergency,
    released, released_version_id, ended_at, end_reason, ended_by, replaced_by_id, bypassed_gates,
    pacticipant_name, version_number, environment_name)
SELECT id, pacticipant_id, version_id, environment_id, application_instance, status,
    deployed_by, scm_branch, scm_sha, scm_repository, build_url, build_number, source_system, extra_metadata, evidence,
    rollback, deployed_version_id, created_at, started_at, finished_at, updated_at, scm_committed_at, emergency,
    released, released_version_id, ended_at, end_reason, ended_by, replaced_by_id, bypassed_gates,
    pacticipant_name, version_number, environment_name
FROM deployments;
-- AUTOINCREMENT never reuses an id, also one whose row was deleted: carry the counter over.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'deployments_keeping_history', seq FROM sqlite_sequence WHERE name = 'deployments'
  AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'deployments_keeping_history');
UPDATE sqlite_sequence SET seq = (SELECT max(seq) FROM sqlite_sequence WHERE name IN ('deployments', 'deployments_keeping_history'))
WHERE name = 'deployments_keeping_history';
DROP TABLE deployments;
ALTER TABLE deployments_keeping_history RENAME TO deployments;
CREATE INDEX deployments_by_slot ON deployments (pacticipant_id, version_id, environment_id, status);
CREATE INDEX deployments_by_time ON deployments (created_at);
CREATE INDEX deployments_open ON deployments (status, started_at);
CREATE INDEX deployments_by_version ON deployments (version_id);
CREATE INDEX deployments_in_environment ON deployments (environment_id, status, ended_at);
CREATE INDEX deployments_by_deployed_version ON deployments (deployed_version_id);
CREATE INDEX deployments_by_released_version ON deployments (released_version_id);
CREATE INDEX deployments_by_activity ON deployments ((coalesce(finished_at, started_at, created_at)), id);
COMMIT;
PRAGMA foreign_keys = ON;
