-- What `treaty migrate-from` copied from each source broker, keyed by the
-- source's own identities, with a fingerprint of what was copied: a rerun
-- skips what is here unchanged and copies only what is new or changed.
-- Each row is written in the transaction that copied its unit. The id
-- lets `treaty export` read it in groups (a big broker copies millions).
CREATE TABLE moved_in (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    source_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    moved_at    TEXT NOT NULL,
    UNIQUE (source, kind, source_key)
);

-- The secrets a webhook moved in from another broker lacks (that broker
-- showed them masked): a JSON array of fields, until someone gives them.
ALTER TABLE webhooks ADD COLUMN secrets_to_reenter TEXT;
