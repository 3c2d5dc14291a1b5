-- The first schema: every table the engine persists, the same shape as the
-- SQLite backend's. Columns, not JSON blobs, so that filters are queries.

CREATE TABLE alerts (
    id              TEXT             PRIMARY KEY,
    zone_id         TEXT             NOT NULL,
    level           TEXT             NOT NULL,
    kind            TEXT             NOT NULL,
    message         TEXT             NOT NULL,
    density         DOUBLE PRECISION NOT NULL,
    raised_at       BIGINT           NOT NULL, -- ms since epoch (reading time)
    status          TEXT             NOT NULL CHECK (status IN ('active', 'acknowledged', 'resolved')),
    updated_at      BIGINT           NOT NULL,
    acknowledged_by TEXT             NOT NULL DEFAULT '',
    acknowledged_at BIGINT           NOT NULL DEFAULT 0,
    resolved_at     BIGINT           NOT NULL DEFAULT 0,
    muted           BOOLEAN          NOT NULL DEFAULT FALSE,
    muted_reason    TEXT             NOT NULL DEFAULT '',
    notifications   INTEGER          NOT NULL DEFAULT 0
);
CREATE INDEX alerts_status_raised ON alerts (status, raised_at DESC);
CREATE INDEX alerts_zone_raised ON alerts (zone_id, raised_at DESC);
CREATE INDEX alerts_raised ON alerts (raised_at DESC);

-- Emergency mode as history: the newest row is the current state (ended
-- means no emergency); the rows before it are the audit trail.
CREATE TABLE emergency (
    seq          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ended        BOOLEAN NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT FALSE,
    reason       TEXT    NOT NULL DEFAULT '',
    zone_ids     TEXT[]  NOT NULL DEFAULT '{}',
    activated_at BIGINT  NOT NULL DEFAULT 0,
    activated_by TEXT    NOT NULL DEFAULT ''
);

-- Durable events of the alert stream, keyed by event.ID as a BIGINT.
CREATE TABLE events (
    id    BIGINT PRIMARY KEY,
    topic TEXT   NOT NULL,
    type  TEXT   NOT NULL,
    data  BYTEA  NOT NULL,
    at    BIGINT NOT NULL -- ms since epoch
);

CREATE TABLE incidents (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts       BIGINT NOT NULL, -- ms since epoch
    kind     TEXT   NOT NULL,
    zone_id  TEXT   NOT NULL DEFAULT '',
    alert_id TEXT   NOT NULL DEFAULT '',
    level    TEXT,           -- NULL when the entry concerns no level
    actor    TEXT   NOT NULL DEFAULT '',
    message  TEXT   NOT NULL
);
CREATE INDEX incidents_zone_seq ON incidents (zone_id, seq);
CREATE INDEX incidents_ts ON incidents (ts);

-- pruned_up_to: the highest event id ever pruned (for EventsAfter's covered).
CREATE TABLE meta (
    key   TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
