-- The deployments that are open (pending, started) or still running
-- (completed, not ended), by slot. The lookups of a record-deployment went
-- through (pacticipant, version, environment, status), which holds every
-- completed deployment of the version there, ended or not: a slot
-- redeployed thousands of times made each record-deployment read them all
-- (about 10 ms on PostgreSQL after 5,000 redeployments of two versions).
-- Ended deployments leave this index; only failed and aborted ones, which
-- never end, stay in it, under statuses the lookups do not ask for.
CREATE INDEX deployments_live ON deployments (pacticipant_id, environment_id, status, version_id) WHERE ended_at IS NULL;
