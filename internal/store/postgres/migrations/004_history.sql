-- Density history (issue 13), the same shape as the SQLite backend's.
-- Points: every judged reading, kept for --history-raw (1 h); the one index,
-- on (zone, time), serves the range queries and the per-zone prune. Level
-- is the number (0 normal .. 4 emergency) so that the worst is max(level).
CREATE TABLE density_points (
    zone_id  TEXT             NOT NULL,
    at       BIGINT           NOT NULL, -- ms since epoch (reading time)
    density  DOUBLE PRECISION NOT NULL,
    smoothed DOUBLE PRECISION NOT NULL,
    level    SMALLINT         NOT NULL,
    sensors  INTEGER          NOT NULL,
    no_data  BOOLEAN          NOT NULL DEFAULT FALSE
);
CREATE INDEX density_points_zone_at ON density_points (zone_id, at);

-- One row per zone and minute, kept for --history-keep (30 days). Sums, not
-- means, so partial rows of one minute merge exactly.
CREATE TABLE density_minutes (
    zone_id      TEXT             NOT NULL,
    minute       BIGINT           NOT NULL, -- ms since epoch, start of the minute
    n            INTEGER          NOT NULL,
    density_min  DOUBLE PRECISION NOT NULL,
    density_max  DOUBLE PRECISION NOT NULL,
    density_sum  DOUBLE PRECISION NOT NULL,
    smoothed_min DOUBLE PRECISION NOT NULL,
    smoothed_max DOUBLE PRECISION NOT NULL,
    smoothed_sum DOUBLE PRECISION NOT NULL,
    level        SMALLINT         NOT NULL, -- the worst of the minute
    sensors_min  INTEGER          NOT NULL,
    sensors_max  INTEGER          NOT NULL,
    PRIMARY KEY (zone_id, minute)
);

-- Each zone's last judged reading, whole (JSON of crowd.DensityReading), so
-- a restarted leader shows every zone's last known state with its age,
-- however long ago that was (never pruned).
CREATE TABLE density_latest (
    zone_id TEXT   PRIMARY KEY,
    at      BIGINT NOT NULL,
    data    TEXT   NOT NULL
);
