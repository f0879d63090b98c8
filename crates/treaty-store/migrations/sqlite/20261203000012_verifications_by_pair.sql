-- Found by `treaty bench` at size L: publishing a contract asks whether the
-- pair was ever verified, and the integrations list reads each pair's latest
-- verification; without this index both read every verification (94 ms per
-- contract at a million verifications).
CREATE INDEX verifications_by_pair ON verifications (consumer_id, provider_id, id);
