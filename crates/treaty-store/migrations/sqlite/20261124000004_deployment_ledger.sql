-- The deployment ledger: each deployment's lifecycle (pending, started,
-- completed, failed, aborted) with who, which commit and build, and the
-- events that moved it. A completed deployment points at the deployed
-- version it recorded.

CREATE TABLE deployments (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    pacticipant_id       INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    version_id           INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    environment_id       INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
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
    updated_at           TEXT NOT NULL
);
CREATE INDEX deployments_by_slot ON deployments (pacticipant_id, version_id, environment_id, status);
CREATE INDEX deployments_by_time ON deployments (created_at);

CREATE TABLE deployment_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id   INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    metadata        TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX deployment_events_by_deployment ON deployment_events (deployment_id, id);
