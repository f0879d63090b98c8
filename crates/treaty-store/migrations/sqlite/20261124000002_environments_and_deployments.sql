-- Environments, and the versions deployed and released to them.

-- Facts about this database that must survive restarts (for example, that the
-- default environments were created once and must not come back if deleted).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE environments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT,
    production   INTEGER NOT NULL,
    contacts     TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Every deployment ever recorded; undeployed_at is set when it is replaced or undeployed.
CREATE TABLE deployed_versions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                 TEXT NOT NULL UNIQUE,
    version_id           INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    pacticipant_id       INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    environment_id       INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    application_instance TEXT,
    undeployed_at        TEXT,
    auto_created         INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX deployed_versions_by_version ON deployed_versions (version_id);

-- The current deployment per slot. The primary key is the invariant: one
-- current version per application, environment and instance ('' = no instance).
CREATE TABLE currently_deployed (
    pacticipant_id      INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    environment_id      INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    instance_key        TEXT NOT NULL,
    deployed_version_id INTEGER NOT NULL UNIQUE REFERENCES deployed_versions (id) ON DELETE CASCADE,
    version_id          INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    PRIMARY KEY (pacticipant_id, environment_id, instance_key)
);
CREATE INDEX currently_deployed_by_environment ON currently_deployed (environment_id, version_id);

-- One release record per version and environment; supported while support_ended_at is null.
CREATE TABLE released_versions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid             TEXT NOT NULL UNIQUE,
    version_id       INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    pacticipant_id   INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    environment_id   INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    support_ended_at TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (version_id, environment_id)
);
CREATE INDEX released_versions_by_environment ON released_versions (environment_id, support_ended_at);
