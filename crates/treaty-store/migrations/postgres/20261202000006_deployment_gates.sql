-- Deployment gates: each environment's policy (its rules, as JSON the domain
-- crate reads), and emergency deployments flagged in the ledger.

CREATE TABLE environment_policies (
    environment_id BIGINT PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    rules          TEXT NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

ALTER TABLE deployments ADD COLUMN emergency BOOLEAN NOT NULL DEFAULT FALSE;
