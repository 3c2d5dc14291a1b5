-- A sensor alert names the sensor that fell silent (issue 11); other kinds
-- leave it empty.
ALTER TABLE alerts ADD COLUMN sensor_id TEXT NOT NULL DEFAULT '';
