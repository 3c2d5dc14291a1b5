package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
)

// The engine reports the density history points it could not store.
var _ engine.HistoryObserver = (*Metrics)(nil)

// HistoryDropped counts density history points not stored
// (engine.HistoryObserver).
func (m *Metrics) HistoryDropped(points int) { m.historyDropped.Add(float64(points)) }

// zoneCollector turns every zone's latest judged reading into gauges at
// scrape time, so Grafana can chart each zone's density and level from
// Prometheus. Reading the engine's latest state per scrape costs the hot
// path nothing (no gauge is set per reading) and can never disagree with
// /density. One series per zone and gauge: the venue bounds the
// cardinality.
type zoneCollector struct {
	latest func() []crowd.DensityReading

	density, smoothed, level, sensors, noData, at *prometheus.Desc
	// Zones with door counters only: the balance, and the persons clamped
	// away (a counter at fault: alert on it being above 0).
	persons, clamped *prometheus.Desc
}

func newZoneCollector(latest func() []crowd.DensityReading) *zoneCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"zone"}, nil)
	}
	return &zoneCollector{
		latest:   latest,
		density:  d("crowdrisk_zone_density", "A zone's latest fused density, persons/m²."),
		smoothed: d("crowdrisk_zone_density_smoothed", "A zone's latest smoothed density (the rolling median the levels follow), persons/m²."),
		level:    d("crowdrisk_zone_level", "A zone's displayed level: 0 normal, 1 watch, 2 warning, 3 critical, 4 emergency."),
		sensors:  d("crowdrisk_zone_sensors_live", "Live sensors fused into a zone's latest reading (0 with no data)."),
		noData:   d("crowdrisk_zone_no_data", "1 when every sensor of the zone is silent (or none reported since the start): the values are the last known."),
		at:       d("crowdrisk_zone_reading_timestamp_seconds", "Time of a zone's latest reading, seconds since the epoch (time() minus it is its age)."),
		persons:  d("crowdrisk_zone_counter_persons", "A zone's door-counter balance: persons counted in and not out, as of its latest reading (zones with door counters only)."),
		clamped:  d("crowdrisk_zone_counter_clamped", "Persons a zone's doors counted out beyond its balance since its last reset or count (the balance stayed at 0): above 0, a counter is at fault."),
	}
}

func (c *zoneCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.density, c.smoothed, c.level, c.sensors, c.noData, c.at, c.persons, c.clamped} {
		ch <- d
	}
}

func (c *zoneCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.latest() {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, r.ZoneID)
		}
		noData := 0.0
		if r.NoData {
			noData = 1
		}
		gauge(c.density, r.Density)
		gauge(c.smoothed, r.Smoothed)
		gauge(c.level, float64(r.Level))
		gauge(c.sensors, float64(r.Sensors))
		gauge(c.noData, noData)
		gauge(c.at, float64(r.Timestamp)/1000)
		if r.Counters != nil {
			gauge(c.persons, float64(r.Counters.Persons))
			gauge(c.clamped, float64(r.Counters.Clamped))
		}
	}
}
