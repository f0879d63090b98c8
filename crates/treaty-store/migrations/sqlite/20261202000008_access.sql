-- API tokens (stored only as hashes) and the audit log, each entry chained
-- to the previous one by its hash.

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    pacticipants TEXT,
    expires_at   TEXT,
    revoked_at   TEXT,
    created_by   TEXT,
    created_at   TEXT NOT NULL
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    address       TEXT NOT NULL,
    method        TEXT NOT NULL,
    target        TEXT NOT NULL,
    status        INTEGER NOT NULL,
    summary       TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
