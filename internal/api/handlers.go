package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// MaxHistoryMinutes bounds GET /density/history: the engine keeps minutes,
// not days, in memory.
const MaxHistoryMinutes = 24 * 60

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *server) zones(w http.ResponseWriter, r *http.Request) error {
	zs := s.opts.Engine.Venue().Zones
	out := make([]crowd.Zone, len(zs))
	for i, z := range zs {
		z.Polygon = nil // the plan belongs to /venue; /zones is the seed's flat list
		out[i] = z
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) venue(w http.ResponseWriter, r *http.Request) error {
	v := s.opts.Engine.Venue()
	v.Zones = nonNil(v.Zones)
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *server) knownZone(id string) bool {
	for _, z := range s.opts.Engine.Venue().Zones {
		if z.ID == id {
			return true
		}
	}
	return false
}

// checkZone validates an optional zone id from a query or body.
func (s *server) checkZone(field, id string) error {
	if id != "" && !s.knownZone(id) {
		return crowd.Invalidf(field, "unknown zone %q", id)
	}
	return nil
}

func (s *server) postReadings(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	// The announced size sizes the buffer, never beyond the limit: a
	// client that announces more is refused when it sends it.
	in, err := decodeReadingBody(r.Body, min(r.ContentLength, s.maxBody))
	if err != nil {
		return err
	}
	out, err := s.opts.Engine.Ingest(r.Context(), in)
	if err != nil {
		return crowd.PrefixField(err, "readings")
	}
	writeIngestAnswer(w, out)
	return nil
}

func (s *server) density(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, nonNil(s.opts.Engine.Latest()))
	return nil
}

func (s *server) densityHistory(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	zone := q.Get("zoneId")
	if zone == "" {
		return crowd.Invalidf("zoneId", "is required")
	}
	if err := s.checkZone("zoneId", zone); err != nil {
		return err
	}
	minutes, err := intParam(q, "minutes", 10, 1, MaxHistoryMinutes)
	if err != nil {
		return err
	}
	hist, err := s.opts.Engine.History(zone, time.Duration(minutes)*time.Minute)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(hist))
	return nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(q interface{ Get(string) string }, name string, def, lo, hi int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, crowd.Invalidf(name, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

func (s *server) alerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f store.AlertFilter
	switch st := q.Get("status"); st {
	case "":
	case "open":
		f.Open = true
	default:
		f.Status = crowd.AlertStatus(st)
		if !f.Status.Valid() {
			return crowd.Invalidf("status", "must be active, acknowledged, resolved or open")
		}
	}
	f.ZoneID = q.Get("zoneId")
	if err := s.checkZone("zoneId", f.ZoneID); err != nil {
		return err
	}
	limit, err := intParam(q, "limit", 0, 1, 1000)
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	list, err := s.opts.Engine.Alerts(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(list))
	return nil
}

func (s *server) acknowledge(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if id == "" || len(id) > 128 {
		return crowd.Invalidf("id", "is not an alert id")
	}
	a, err := s.opts.Engine.Acknowledge(r.Context(), id, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *server) emergency(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.opts.Engine.Emergency())
	return nil
}

func (s *server) activateEmergency(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Reason  string   `json:"reason"`
		ZoneIDs []string `json:"zoneIds"`
	}
	if err := decodeBody(w, r, s.maxBody, &body); err != nil {
		return err
	}
	m, err := s.opts.Engine.ActivateEmergency(r.Context(), body.Reason, nonNil(body.ZoneIDs), actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *server) endEmergency(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Engine.EndEmergency(r.Context(), actor(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nil)
	return nil
}
