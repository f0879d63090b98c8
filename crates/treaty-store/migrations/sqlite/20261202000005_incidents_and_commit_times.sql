-- Incidents recorded against deployments, the commit time a pipeline gives
-- (where lead time for changes starts), and an index for finding deployments
-- left open too long.

ALTER TABLE deployments ADD COLUMN scm_committed_at TEXT;
CREATE INDEX deployments_open ON deployments (status, started_at);

CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    severity      TEXT,
    url           TEXT,
    opened_by     TEXT,
    opened_at     TEXT NOT NULL,
    resolved_at   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX incidents_by_deployment ON incidents (deployment_id, id);
