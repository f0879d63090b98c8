-- Environments are shown in pipeline order (test, staging, production), an
-- order an admin sets. Existing ones start with the ones that are not
-- production before the production ones, each kind by name. NULL is a row
-- an older replica inserted during a rolling upgrade: it sorts last.
ALTER TABLE environments ADD COLUMN position BIGINT;

UPDATE environments SET position = (
    SELECT count(*) FROM environments earlier
    WHERE earlier.production < environments.production
       OR (earlier.production = environments.production AND earlier.name COLLATE "C" < environments.name COLLATE "C")
);
