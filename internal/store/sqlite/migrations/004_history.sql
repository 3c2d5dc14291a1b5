-- Density history (issue 13). Points: every judged reading, kept for
-- --history-raw (1 h); a rowid table with one index, on (zone, time), which
-- serves both the range queries and the per-zone prune. Level is the
-- number (0 normal .. 4 emergency) so that the worst is MAX(level).
CREATE TABLE density_points (
    zone_id  TEXT    NOT NULL,
    at       INTEGER NOT NULL, -- ms since epoch (reading time)
    density  REAL    NOT NULL,
    smoothed REAL    NOT NULL,
    level    INTEGER NOT NULL,
    sensors  INTEGER NOT NULL,
    no_data  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX density_points_zone_at ON density_points (zone_id, at);

-- One row per zone and minute, kept for --history-keep (30 days). Sums, not
-- means, so partial rows of one minute merge exactly.
CREATE TABLE density_minutes (
    zone_id      TEXT    NOT NULL,
    minute       INTEGER NOT NULL, -- ms since epoch, start of the minute
    n            INTEGER NOT NULL,
    density_min  REAL    NOT NULL,
    density_max  REAL    NOT NULL,
    density_sum  REAL    NOT NULL,
    smoothed_min REAL    NOT NULL,
    smoothed_max REAL    NOT NULL,
    smoothed_sum REAL    NOT NULL,
    level        INTEGER NOT NULL, -- the worst of the minute
    sensors_min  INTEGER NOT NULL,
    sensors_max  INTEGER NOT NULL,
    PRIMARY KEY (zone_id, minute)
) WITHOUT ROWID;

-- Each zone's last judged reading, whole (JSON of crowd.DensityReading), so
-- a restarted engine shows every zone's last known state with its age,
-- however long ago that was (never pruned).
CREATE TABLE density_latest (
    zone_id TEXT    PRIMARY KEY,
    at      INTEGER NOT NULL,
    data    TEXT    NOT NULL
);
