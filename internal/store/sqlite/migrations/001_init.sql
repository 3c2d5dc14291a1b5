-- The first schema: every table the engine persists. Columns, not JSON
-- blobs, so that the filters of the store interface are plain queries.

-- An alert is upserted whole on every change; level is kept by name so that
-- the file reads well in the sqlite3 shell during an after-action review.
CREATE TABLE alerts (
    id              TEXT    PRIMARY KEY,
    zone_id         TEXT    NOT NULL,
    level           TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    density         REAL    NOT NULL,
    raised_at       INTEGER NOT NULL, -- ms since epoch (reading time)
    status          TEXT    NOT NULL CHECK (status IN ('active', 'acknowledged', 'resolved')),
    updated_at      INTEGER NOT NULL,
    acknowledged_by TEXT    NOT NULL DEFAULT '',
    acknowledged_at INTEGER NOT NULL DEFAULT 0,
    resolved_at     INTEGER NOT NULL DEFAULT 0,
    muted           INTEGER NOT NULL DEFAULT 0,
    muted_reason    TEXT    NOT NULL DEFAULT '',
    notifications   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_status_raised ON alerts (status, raised_at DESC);
CREATE INDEX alerts_zone_raised ON alerts (zone_id, raised_at DESC);
CREATE INDEX alerts_raised ON alerts (raised_at DESC);

-- Emergency mode is kept as history: every change appends a row and the
-- newest row is the current state (ended = 1 means no emergency). The rows
-- before it are the audit trail of who activated and ended what.
CREATE TABLE emergency (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    ended        INTEGER NOT NULL,
    active       INTEGER NOT NULL DEFAULT 0,
    reason       TEXT    NOT NULL DEFAULT '',
    zone_ids     TEXT    NOT NULL DEFAULT '[]', -- JSON array of zone ids
    activated_at INTEGER NOT NULL DEFAULT 0,
    activated_by TEXT    NOT NULL DEFAULT ''
);

-- Durable events of the alert stream, keyed by event.ID (fits in int64 until
-- the year 2248), so that a restarted engine can replay them.
CREATE TABLE events (
    id    INTEGER PRIMARY KEY,
    topic TEXT    NOT NULL,
    type  TEXT    NOT NULL,
    data  BLOB    NOT NULL,
    at    INTEGER NOT NULL -- ms since epoch
);

CREATE TABLE incidents (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts       INTEGER NOT NULL, -- ms since epoch
    kind     TEXT    NOT NULL,
    zone_id  TEXT    NOT NULL DEFAULT '',
    alert_id TEXT    NOT NULL DEFAULT '',
    level    TEXT,             -- NULL when the entry concerns no level
    actor    TEXT    NOT NULL DEFAULT '',
    message  TEXT    NOT NULL
);
CREATE INDEX incidents_zone_seq ON incidents (zone_id, seq);
CREATE INDEX incidents_ts ON incidents (ts);

-- Small counters that must survive a restart: pruned_up_to is the highest
-- event id ever pruned, so EventsAfter can tell a client about a gap.
CREATE TABLE meta (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
