-- What `treaty migrate-from` copied from each source broker, keyed by the
-- source's own identities, with a fingerprint of what was copied: a rerun
-- skips what is here unchanged and copies only what is new or changed.
-- Each row is written in the transaction that copied its unit.
CREATE TABLE moved_in (
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    source_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    moved_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, kind, source_key)
);

-- The secrets a webhook moved in from another broker lacks (that broker
-- showed them masked): a JSON array of fields, until someone gives them.
ALTER TABLE webhooks ADD COLUMN secrets_to_reenter TEXT;
