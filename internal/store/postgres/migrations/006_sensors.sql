-- The engine's registry of the sensors it has heard from (issue 11): a
-- restarted engine or a new leader still notices one that falls silent.
CREATE TABLE sensors (
    zone_id   TEXT    NOT NULL,
    sensor_id TEXT    NOT NULL,
    last_seen BIGINT  NOT NULL, -- ms since epoch, the engine's clock
    PRIMARY KEY (zone_id, sensor_id)
);
