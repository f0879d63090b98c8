-- Webhooks and their deliveries. A delivery is written in the transaction
-- of the event that causes it; workers on any replica claim due deliveries
-- (claimed_until is the lease) and record each attempt in its logs.

CREATE TABLE webhooks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid           TEXT NOT NULL UNIQUE,
    description    TEXT,
    consumer_id    INTEGER REFERENCES pacticipants (id) ON DELETE CASCADE,
    consumer_label TEXT,
    provider_id    INTEGER REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_label TEXT,
    enabled        INTEGER NOT NULL,
    request        TEXT NOT NULL,
    events         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid            TEXT NOT NULL UNIQUE,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_name      TEXT NOT NULL,
    consumer_id     INTEGER REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_id     INTEGER REFERENCES pacticipants (id) ON DELETE CASCADE,
    context         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts_made   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until   TEXT,
    logs            TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
