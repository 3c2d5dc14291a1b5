package api

import (
	"net/http"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// testRequest is the body of the testing controls.
type testRequest struct {
	ZoneID  string `json:"zoneId"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

// decodeTest reads and checks a testing-control body. The level is read as
// a string here (not crowd.Level) so that a bad one is reported with its field.
func (s *server) decodeTest(w http.ResponseWriter, r *http.Request, withMessage bool) (testRequest, crowd.Level, error) {
	var body testRequest
	if err := decodeBody(w, r, s.maxBody, &body); err != nil {
		return body, 0, err
	}
	if body.ZoneID == "" {
		return body, 0, crowd.Invalidf("zoneId", "is required")
	}
	if err := s.checkZone("zoneId", body.ZoneID); err != nil {
		return body, 0, err
	}
	if body.Level == "" {
		return body, 0, crowd.Invalidf("level", "is required")
	}
	level, err := crowd.ParseLevel(body.Level)
	if err != nil {
		return body, 0, crowd.Invalidf("level", "%s", err.Error())
	}
	if !withMessage && body.Message != "" {
		return body, 0, crowd.Invalidf("message", "unknown field")
	}
	return body, level, nil
}

type triggered struct {
	Readings []crowd.DensityReading `json:"readings"`
	Alerts   []crowd.Alert          `json:"alerts"`
}

func (s *server) testViolation(w http.ResponseWriter, r *http.Request) error {
	body, level, err := s.decodeTest(w, r, false)
	if err != nil {
		return err
	}
	rs, as, err := s.opts.Engine.TriggerViolation(r.Context(), body.ZoneID, level, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, triggered{nonNil(rs), nonNil(as)})
	return nil
}

func (s *server) testBreach(w http.ResponseWriter, r *http.Request) error {
	body, level, err := s.decodeTest(w, r, false)
	if err != nil {
		return err
	}
	rs, as, err := s.opts.Engine.TriggerBreach(r.Context(), body.ZoneID, level, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, triggered{nonNil(rs), nonNil(as)})
	return nil
}

func (s *server) testAlert(w http.ResponseWriter, r *http.Request) error {
	body, level, err := s.decodeTest(w, r, true)
	if err != nil {
		return err
	}
	a, err := s.opts.Engine.TestAlert(r.Context(), body.ZoneID, level, body.Message, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}
