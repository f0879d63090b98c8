-- Verification results are numbered from one sequence that, on a new
-- Pact Broker database, starts at 101 (its sequence starts 100 above the
-- highest number). Treaty's does too, so a result has the number it would
-- have there; numbers already given are kept.
SELECT setval(pg_get_serial_sequence('verifications', 'id'), 100)
WHERE coalesce(pg_sequence_last_value(pg_get_serial_sequence('verifications', 'id')::regclass), 0) < 100;
