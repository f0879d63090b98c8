-- Deployment gates: each environment's policy (its rules, as JSON the domain
-- crate reads), and emergency deployments flagged in the ledger.

CREATE TABLE environment_policies (
    environment_id INTEGER PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    rules          TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

ALTER TABLE deployments ADD COLUMN emergency INTEGER NOT NULL DEFAULT 0;
