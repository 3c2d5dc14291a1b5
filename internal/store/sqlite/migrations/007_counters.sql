-- Door counters (issue 14): each zone's balance of the crossings its doors
-- counted, and when each door's last counted report was sent, so that a
-- restarted engine or a new leader continues the balance (a full stand must
-- not show empty) and counts no resent report twice.
CREATE TABLE counters (
    zone_id  TEXT    NOT NULL PRIMARY KEY,
    persons  INTEGER NOT NULL, -- in - out, never below zero
    clamped  INTEGER NOT NULL, -- out beyond the balance since the last reset or count
    reset_at INTEGER NOT NULL  -- ms since epoch: the scheduled reset last applied (0: none)
);
CREATE TABLE counter_doors (
    zone_id   TEXT    NOT NULL,
    sensor_id TEXT    NOT NULL,
    counted   INTEGER NOT NULL, -- ms since epoch, the door's own timestamp
    PRIMARY KEY (zone_id, sensor_id)
);
