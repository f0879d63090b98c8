-- Whether a verification was of a work-in-progress pact (its URL said so):
-- such results do not end a pact's WIP status.
ALTER TABLE verifications ADD COLUMN wip BOOLEAN NOT NULL DEFAULT FALSE;
