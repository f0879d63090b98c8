-- History is never erased by a delete: a ledger deployment no longer goes
-- with its version, pacticipant or environment (ON DELETE CASCADE); it stays,
-- with the names it was recorded with, and only loses the link (SET NULL).
-- Every column stays; only three NOT NULL constraints and three ON DELETE
-- actions are relaxed, so the previous release reads and writes the table
-- exactly as before (its joins simply do not see a deleted thing's history).
ALTER TABLE deployments
    ALTER COLUMN pacticipant_id DROP NOT NULL,
    ALTER COLUMN version_id DROP NOT NULL,
    ALTER COLUMN environment_id DROP NOT NULL,
    DROP CONSTRAINT deployments_pacticipant_id_fkey,
    DROP CONSTRAINT deployments_version_id_fkey,
    DROP CONSTRAINT deployments_environment_id_fkey,
    ADD CONSTRAINT deployments_pacticipant_id_fkey FOREIGN KEY (pacticipant_id) REFERENCES pacticipants (id) ON DELETE SET NULL,
    ADD CONSTRAINT deployments_version_id_fkey FOREIGN KEY (version_id) REFERENCES versions (id) ON DELETE SET NULL,
    ADD CONSTRAINT deployments_environment_id_fkey FOREIGN KEY (environment_id) REFERENCES environments (id) ON DELETE SET NULL;
