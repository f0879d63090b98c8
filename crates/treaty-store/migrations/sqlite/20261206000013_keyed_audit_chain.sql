-- Audit entries sealed with the server's key (HMAC-SHA-256). Entries written
-- before this migration were sealed with plain SHA-256 and keep verifying so.
ALTER TABLE audit_log ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
