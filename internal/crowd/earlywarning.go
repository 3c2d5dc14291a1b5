package crowd

import (
	"fmt"
	"time"
)

// The early-warning rules (trend, forecast, flow) are predictions, not
// measurements of danger, so their alerts clear by themselves once the
// condition has been gone for the hysteresis hold, whatever their level:
// when the danger arrives, the density alert takes over.

// trendRule: the smoothed density rising at TrendRate or more, measured by a
// robust fit over the last TrendSustain, while at or above TrendFloor. The
// fit over the whole window is what "sustained" means here: a noisy rise of
// 0.13 p/m²/min (Itaewon) would dip under 0.1 in a minute-by-minute slope
// and never count as sustained. DwellLow more guards against one odd refit.
func (m *Monitor) trendRule(z *zoneState, r Reading, smoothed float64, c *changes) {
	rules := z.rules
	cond := z.series.trendOK && z.series.trend >= rules.TrendRate && smoothed >= rules.TrendFloor
	trend := z.series.trend
	msg := func() string {
		return fmt.Sprintf("zone %s: density rising %.2f p/m² per minute over %s, now %.2f p/m²",
			z.zone.Name, trend, rules.TrendSustain, smoothed)
	}
	m.adviseRule(z, KindTrend, &z.trend, cond, Watch, rules.DwellLow, msg, smoothed, r.Time, c)
}

// forecastRule: the next threshold forecast within the horizon, held for
// DwellLow (three refits agreeing) before it is raised.
func (m *Monitor) forecastRule(z *zoneState, r Reading, f *Forecast, smoothed float64, c *changes) {
	rules := z.rules
	cond := f != nil && f.Minutes < rules.ForecastHorizon.Minutes()
	level := Watch
	msg := func() string { return "" }
	if cond {
		level = f.Level
		msg = func() string {
			return fmt.Sprintf("zone %s is forecast to reach %s (%.2f p/m²) in %.0f min",
				z.zone.Name, f.Level, z.zone.Thresholds.Entry(f.Level), f.Minutes)
		}
	}
	m.adviseRule(z, KindForecast, &z.forecast, cond, level, rules.DwellLow, msg, smoothed, r.Time, c)
}

// flowRule: the median inflow over the smoothing window above what the
// exits can serve, for FlowSustain: a queue is building. Readings without a
// flow count are no evidence of a queue.
func (m *Monitor) flowRule(z *zoneState, r Reading, smoothed float64, c *changes) {
	capacity := z.zone.ExitCapacityPerMin
	cond := false
	msg := func() string { return "" }
	if capacity > 0 && r.InflowPerMin != nil {
		in := z.inflow.add(r.Time, *r.InflowPerMin)
		cond = in > capacity
		msg = func() string {
			s := fmt.Sprintf("zone %s: inflow %.0f/min exceeds exit capacity %.0f/min", z.zone.Name, in, capacity)
			if r.OutflowPerMin != nil {
				s += fmt.Sprintf(" (outflow %.0f/min)", *r.OutflowPerMin)
			}
			return s
		}
	}
	m.adviseRule(z, KindFlow, &z.flow, cond, Warning, z.rules.FlowSustain, msg, smoothed, r.Time, c)
}

// adviseRule keeps the one alert of an early-warning kind in step with its
// condition: raised after it held for sustain, moved with its level while it
// holds, resolved after it has been gone for the hysteresis hold.
// msg is called only when the alert changes (see levelRule).
func (m *Monitor) adviseRule(z *zoneState, kind AlertKind, s *sustained, cond bool, level Level, sustain time.Duration, msg func() string, density float64, now time.Time, c *changes) {
	s.observe(now, cond)
	if m.warming {
		return // the condition's clock only (see Warm)
	}
	at := ms(now)
	e := z.slots[kind]
	switch {
	case e == nil:
		if s.heldOn(now, sustain) {
			m.raise(z, kind, level, msg(), density, at, false, c)
		}
	case cond && level > e.a.Level:
		m.escalate(z, e, level, msg(), density, at, c)
	case cond && level < e.a.Level:
		m.lower(e, level, msg(), density, at, c)
	case s.heldOff(now, z.rules.HysteresisHold):
		m.resolve(z, e, fmt.Sprintf("condition gone for %s", z.rules.HysteresisHold), at, engineActor, c)
	}
}
