package api

import (
	"encoding/csv"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/store"
)

// csvPage is how many incidents one store query fetches for the export.
const csvPage = 5000

// incidentFilter reads zoneId, since, until (ms since epoch) and limit.
func (s *server) incidentFilter(r *http.Request) (store.IncidentFilter, error) {
	q := r.URL.Query()
	var f store.IncidentFilter
	f.ZoneID = q.Get("zoneId")
	if err := s.checkZone("zoneId", f.ZoneID); err != nil {
		return f, err
	}
	var err error
	if f.Since, err = intParam(q, "since", 0, 0, math.MaxInt64); err != nil {
		return f, err
	}
	if f.Until, err = intParam(q, "until", 0, 0, math.MaxInt64); err != nil {
		return f, err
	}
	if f.Until != 0 && f.Until <= f.Since {
		return f, crowd.Invalidf("until", "must be after since")
	}
	limit, err := intParam(q, "limit", 0, 1, 10000)
	f.Limit = int(limit)
	return f, err
}

func (s *server) incidents(w http.ResponseWriter, r *http.Request) error {
	f, err := s.incidentFilter(r)
	if err != nil {
		return err
	}
	list, err := s.opts.Engine.Incidents(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(list))
	return nil
}

var csvHeader = []string{"seq", "timestamp", "time", "kind", "zoneId", "alertId", "level", "actor", "message"}

// incidentsCSV exports the whole selected log for the after-action report,
// a page at a time so that a long event never sits in memory at once.
func (s *server) incidentsCSV(w http.ResponseWriter, r *http.Request) error {
	f, err := s.incidentFilter(r)
	if err != nil {
		return err
	}
	total := f.Limit // 0: everything
	f.Limit = csvPage
	if total > 0 && total < csvPage {
		f.Limit = total
	}
	// The first page is fetched before any byte is written, so that a store
	// failure still gets a proper JSON error.
	page, err := s.opts.Engine.Incidents(r.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="incidents.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	written := 0
	for {
		for _, in := range page {
			cw.Write(incidentRow(in))
			f.After = in.Seq
		}
		written += len(page)
		if len(page) < f.Limit || (total > 0 && written >= total) {
			break
		}
		if total > 0 {
			f.Limit = min(csvPage, total-written)
		}
		if page, err = s.opts.Engine.Incidents(r.Context(), f); err != nil {
			// Too late for a status: cut the response so the client sees
			// a truncated download rather than a silently short one.
			cw.Flush()
			s.log.ErrorContext(r.Context(), "incident export failed", "requestId", requestIDOf(r), "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	cw.Flush()
	return cw.Error()
}

func incidentRow(in crowd.Incident) []string {
	level := ""
	if in.Level != nil {
		level = in.Level.String()
	}
	row := []string{
		strconv.FormatInt(in.Seq, 10),
		strconv.FormatInt(in.Timestamp, 10),
		time.UnixMilli(in.Timestamp).UTC().Format(time.RFC3339Nano),
		string(in.Kind), in.ZoneID, in.AlertID, level, in.Actor, in.Message,
	}
	for i := range row {
		row[i] = neutralise(row[i])
	}
	return row
}

// neutralise keeps a spreadsheet from reading a cell as a formula (CSV
// injection): text that starts with = + - @ or a tab/CR is prefixed with '.
func neutralise(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}
