-- Outgoing notifications (internal/notify, issue 14). Numbered 005, not 004,
-- so that it cannot clash with another branch's 004. Same tables as SQLite.
CREATE TABLE webhook_cursor (
    one      INTEGER PRIMARY KEY CHECK (one = 1),
    event_id BIGINT  NOT NULL
);
CREATE TABLE webhook_alerts (
    alert_id      TEXT     PRIMARY KEY,
    level         INTEGER  NOT NULL,
    status        TEXT     NOT NULL,
    muted         INTEGER  NOT NULL, -- 0 or 1, as on SQLite (one SQL for both)
    notifications INTEGER  NOT NULL,
    level_since   BIGINT   NOT NULL, -- ms since epoch, engine clock
    escalated     INTEGER  NOT NULL  -- highest level escalated, -1 none
);
CREATE TABLE webhook_deliveries (
    seq        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    receiver   TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    payload    BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    BIGINT  NOT NULL,
    last_error TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (receiver, key, seq);
