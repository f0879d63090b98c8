-- For `treaty clean`, which deletes versions in batches: every foreign key
-- that points at a version is looked up by the version when one is deleted
-- (SQLite scans the whole child table for each deleted version otherwise),
-- and clean checks versions' ledger deployments one by one.
CREATE INDEX deployments_by_version ON deployments (version_id);
CREATE INDEX branches_by_head ON branches (head_version_id);
CREATE INDEX currently_deployed_by_version ON currently_deployed (version_id);
