-- Forwarded operator commands that were carried out, keyed by their
-- idempotency key and committed in the same transaction as their effects: a
-- new leader that finds a key here must not run the command again (issue 12).
CREATE TABLE commands (
    key TEXT    PRIMARY KEY,
    at  INTEGER NOT NULL -- ms since epoch
);
