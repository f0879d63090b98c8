-- Issue 27: a matrix page walks the rows newest first and stops when the
-- page is full, instead of reading the pair's whole history. The pacts of a
-- pair, most recently published first:
CREATE INDEX pact_publications_by_pair_newest ON pact_publications (consumer_id, provider_id, created_at, id);
-- A pact content's verifications, most recently run first:
CREATE INDEX verifications_by_content_newest ON verifications (pact_content_id, execution_date, id);
