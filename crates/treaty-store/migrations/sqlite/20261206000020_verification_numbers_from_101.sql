-- Verification results are numbered from one sequence that, on a new
-- Pact Broker database, starts at 101 (its sequence starts 100 above the
-- highest number). Treaty's does too, so a result has the number it would
-- have there; numbers already given are kept.
UPDATE sqlite_sequence SET seq = 100 WHERE name = 'verifications' AND seq < 100;
INSERT INTO sqlite_sequence (name, seq)
SELECT 'verifications', 100
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'verifications');
