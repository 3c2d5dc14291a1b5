-- Outgoing notifications (internal/notify, issue 14). Numbered 005, not 004,
-- so that it cannot clash with another branch's 004.
--
-- webhook_cursor: the last committed event turned into deliveries (one row).
CREATE TABLE webhook_cursor (
    one      INTEGER PRIMARY KEY CHECK (one = 1),
    event_id INTEGER NOT NULL
);
-- webhook_alerts: what the notifier knows of each open alert, to name the
-- change an event carries and to time escalations.
CREATE TABLE webhook_alerts (
    alert_id      TEXT    PRIMARY KEY,
    level         INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    muted         INTEGER NOT NULL,
    notifications INTEGER NOT NULL,
    level_since   INTEGER NOT NULL, -- ms since epoch, engine clock
    escalated     INTEGER NOT NULL  -- highest level escalated, -1 none
);
-- webhook_deliveries: the persisted queue, delivered in seq order per
-- (receiver, key).
CREATE TABLE webhook_deliveries (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    receiver   TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,
    last_error TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (receiver, key, seq);
