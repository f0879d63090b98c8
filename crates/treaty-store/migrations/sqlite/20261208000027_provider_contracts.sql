-- Bi-directional contracts: a provider version's OpenAPI document with the
-- result of its own tests against it, the comparisons of pacts with such
-- documents, and the comparisons still to compute.

-- Each distinct document is stored once, whoever publishes it.
CREATE TABLE provider_contract_contents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sha           TEXT NOT NULL UNIQUE,
    content       TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    specification TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- One provider contract per provider version; publishing again replaces it.
CREATE TABLE provider_contracts (
    id                             INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id                    INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_version_id            INTEGER NOT NULL UNIQUE REFERENCES versions (id) ON DELETE CASCADE,
    content_id                     INTEGER NOT NULL REFERENCES provider_contract_contents (id) ON DELETE CASCADE,
    self_verification_success      INTEGER NOT NULL,
    self_verification_content      TEXT,
    self_verification_content_type TEXT,
    self_verification_format       TEXT,
    verifier                       TEXT,
    verifier_version               TEXT,
    build_url                      TEXT,
    created_at                     TEXT NOT NULL,
    updated_at                     TEXT NOT NULL
);
CREATE INDEX provider_contracts_by_provider ON provider_contracts (provider_id, provider_version_id);
CREATE INDEX provider_contracts_by_content ON provider_contracts (content_id);

-- A comparison depends only on the two contents, so it is kept once per pair
-- of them: republishing identical content costs nothing.
CREATE TABLE contract_comparisons (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    pact_sha     TEXT NOT NULL,
    contract_sha TEXT NOT NULL,
    success      INTEGER NOT NULL,
    findings     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (pact_sha, contract_sha)
);

-- Comparisons to compute, written in the transaction of the publication
-- that needs them; workers on any replica claim one (claimed_until is the lease).
CREATE TABLE comparison_work (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    pact_sha      TEXT NOT NULL,
    contract_sha  TEXT NOT NULL,
    claimed_until TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (pact_sha, contract_sha)
);
CREATE INDEX comparison_work_due ON comparison_work (claimed_until);
