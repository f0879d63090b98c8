-- Found by `treaty bench`: can-i-deploy and the matrix name the newest
-- successful verifications of each pact content ("what would fix it"); with
-- this index that is two index entries per content, not every verification.
CREATE INDEX verifications_by_content_success ON verifications (pact_content_id, success, id);
