-- One deployment truth: every deployment and release, whichever API recorded
-- it (record-deployment, record-release, a tag named after an environment, a
-- deployment event), is a ledger deployment. deployed_versions,
-- currently_deployed and released_versions stay as the Pact Broker's view of
-- the ledger, written in the same transactions.
--
-- A ledger deployment now also says: whether it is a release; when it stopped
-- running, why (replaced, undeployed, support_ended, deleted), by whom and,
-- when replaced, by which deployment; whether the gates would have refused
-- it (bypassed_gates); the release record it made; and the names it was
-- recorded with, which it keeps when its version, pacticipant or environment
-- is deleted.

ALTER TABLE deployments ADD COLUMN released BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE deployments ADD COLUMN released_version_id BIGINT REFERENCES released_versions (id) ON DELETE SET NULL;
ALTER TABLE deployments ADD COLUMN ended_at TIMESTAMPTZ;
ALTER TABLE deployments ADD COLUMN end_reason TEXT;
ALTER TABLE deployments ADD COLUMN ended_by TEXT;
ALTER TABLE deployments ADD COLUMN replaced_by_id BIGINT;
ALTER TABLE deployments ADD COLUMN bypassed_gates BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE deployments ADD COLUMN pacticipant_name TEXT;
ALTER TABLE deployments ADD COLUMN version_number TEXT;
ALTER TABLE deployments ADD COLUMN environment_name TEXT;

UPDATE deployments SET
    pacticipant_name = (SELECT name FROM pacticipants WHERE id = deployments.pacticipant_id),
    version_number = (SELECT number FROM versions WHERE id = deployments.version_id),
    environment_name = (SELECT name FROM environments WHERE id = deployments.environment_id);

-- Deployments recorded through the Pact Broker API (or a tag) before now had
-- no ledger deployment: each becomes a completed one, at the time it was recorded.
INSERT INTO deployments (pacticipant_id, version_id, environment_id, application_instance, status, source_system,
    rollback, deployed_version_id, created_at, finished_at, updated_at, pacticipant_name, version_number, environment_name)
SELECT dv.pacticipant_id, dv.version_id, dv.environment_id, dv.application_instance, 'completed',
    CASE WHEN dv.auto_created THEN 'pact-broker-tag' ELSE 'pact-broker-api' END,
    FALSE, dv.id, dv.created_at, dv.created_at, dv.created_at, p.name, v.number, e.name
FROM deployed_versions dv
JOIN pacticipants p ON p.id = dv.pacticipant_id
JOIN versions v ON v.id = dv.version_id
JOIN environments e ON e.id = dv.environment_id
WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.deployed_version_id = dv.id)
ORDER BY dv.id;

-- Of those, a rollback replaced a newer version in its slot (in the same
-- transaction, so at the same instant).
UPDATE deployments SET rollback = TRUE
WHERE NOT EXISTS (SELECT 1 FROM deployment_events ev WHERE ev.deployment_id = deployments.id)
  AND EXISTS (
    SELECT 1 FROM deployed_versions dv
    JOIN deployed_versions previous ON previous.pacticipant_id = dv.pacticipant_id
      AND previous.environment_id = dv.environment_id
      AND coalesce(previous.application_instance, '') = coalesce(dv.application_instance, '')
      AND previous.id < dv.id AND previous.undeployed_at = dv.created_at
    WHERE dv.id = deployments.deployed_version_id AND previous.version_id > dv.version_id);

-- Releases: each becomes a completed release, ended when its support ended.
INSERT INTO deployments (pacticipant_id, version_id, environment_id, status, source_system, rollback, released,
    released_version_id, created_at, finished_at, updated_at, ended_at, end_reason, pacticipant_name, version_number, environment_name)
SELECT rv.pacticipant_id, rv.version_id, rv.environment_id, 'completed', 'pact-broker-api', FALSE, TRUE,
    rv.id, rv.created_at, rv.created_at, rv.updated_at, rv.support_ended_at,
    CASE WHEN rv.support_ended_at IS NULL THEN NULL ELSE 'support_ended' END, p.name, v.number, e.name
FROM released_versions rv
JOIN pacticipants p ON p.id = rv.pacticipant_id
JOIN versions v ON v.id = rv.version_id
JOIN environments e ON e.id = rv.environment_id
ORDER BY rv.id;

-- Each new ledger deployment gets the event it would have had.
INSERT INTO deployment_events (deployment_id, status, metadata, created_at)
SELECT d.id, 'completed', '{"source_system":"' || coalesce(d.source_system, 'unknown') || '","recorded":"before the ledger held Pact Broker records"}', d.finished_at
FROM deployments d
WHERE NOT EXISTS (SELECT 1 FROM deployment_events ev WHERE ev.deployment_id = d.id)
ORDER BY d.id;

-- When each completed deployment stopped running: when a later deployment of
-- the same record (a redeploy) completed, else when its record was undeployed.
UPDATE deployments SET ended_at = coalesce(
    (SELECT min(later.finished_at) FROM deployments later
     WHERE later.deployed_version_id = deployments.deployed_version_id AND later.id > deployments.id AND later.status = 'completed'),
    (SELECT dv.undeployed_at FROM deployed_versions dv WHERE dv.id = deployments.deployed_version_id))
WHERE released = FALSE AND status = 'completed' AND deployed_version_id IS NOT NULL AND ended_at IS NULL;

-- Replaced (by a redeploy, or by the next record in its slot), or undeployed.
UPDATE deployments SET replaced_by_id = coalesce(
    (SELECT min(later.id) FROM deployments later
     WHERE later.deployed_version_id = deployments.deployed_version_id AND later.id > deployments.id AND later.status = 'completed'),
    (SELECT min(successor.id) FROM deployed_versions dv
     JOIN deployed_versions next_dv ON next_dv.pacticipant_id = dv.pacticipant_id
       AND next_dv.environment_id = dv.environment_id
       AND coalesce(next_dv.application_instance, '') = coalesce(dv.application_instance, '')
       AND next_dv.id > dv.id AND next_dv.created_at = dv.undeployed_at
     JOIN deployments successor ON successor.deployed_version_id = next_dv.id AND successor.status = 'completed'
     WHERE dv.id = deployments.deployed_version_id))
WHERE released = FALSE AND status = 'completed' AND ended_at IS NOT NULL;

UPDATE deployments SET end_reason = CASE WHEN replaced_by_id IS NULL THEN 'undeployed' ELSE 'replaced' END
WHERE released = FALSE AND status = 'completed' AND ended_at IS NOT NULL AND end_reason IS NULL;

-- What runs in an environment, what a record made, and the timeline (newest
-- first by when each deployment last moved).
CREATE INDEX deployments_in_environment ON deployments (environment_id, status, ended_at);
CREATE INDEX deployments_by_deployed_version ON deployments (deployed_version_id);
CREATE INDEX deployments_by_released_version ON deployments (released_version_id);
CREATE INDEX deployments_by_activity ON deployments ((coalesce(finished_at, started_at, created_at)), id);
