-- A verification result names the newest consumer version that published its
-- pact. By content alone the index left every publication of the content to
-- sort (thousands for a contract that stays the same for months: 6 ms a row
-- at L); with the version after it, the newest is the index's last entry.
-- It serves every lookup by content the old index did.
CREATE INDEX pact_publications_by_content_newest ON pact_publications (pact_content_id, consumer_version_id);
DROP INDEX pact_publications_by_content;
