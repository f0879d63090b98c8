-- Found by the soak: lookups that read a whole history as it grew.
-- A pacticipant's newest version (ORDER BY id DESC LIMIT 1).
CREATE INDEX versions_by_pacticipant ON versions (pacticipant_id, id);
-- The deployment a new one replaces in its slot.
CREATE INDEX deployed_versions_by_slot ON deployed_versions (pacticipant_id, environment_id, undeployed_at);
