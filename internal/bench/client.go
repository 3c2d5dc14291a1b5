package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// client talks to the engine's HTTP API (zones, readings, metrics). The
// streams do not use it: they are raw connections (see stream.go).
type client struct {
	base  string
	token string
	http  *http.Client
}

func newClient(base, token string) *client {
	return &client{base: base, token: token, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
	}}
}

func (c *client) request(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.http.Do(req)
}

func (c *client) get(ctx context.Context, path string) (*http.Response, error) {
	return c.request(ctx, http.MethodGet, path, nil)
}

// zones lists the venue's zone ids.
func (c *client) zones(ctx context.Context) ([]string, error) {
	resp, err := c.get(ctx, "/api/crowd-risk/zones")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET /api/crowd-risk/zones: %s: %s", resp.Status, b)
	}
	var zs []struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&zs); err != nil {
		return nil, fmt.Errorf("GET /api/crowd-risk/zones: %w", err)
	}
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i] = z.ID
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("the venue has no zones")
	}
	return ids, nil
}

// reading is one reading to send.
type reading struct {
	zone    string
	density float64
	ts      int64 // ms since the epoch
}

// appendReadings encodes a batch by hand: the load generator must not spend
// its core on reflection.
func appendReadings(dst []byte, rs []reading) []byte {
	dst = append(dst, '[')
	for i, r := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"zoneId":`...)
		dst = strconv.AppendQuote(dst, r.zone)
		dst = append(dst, `,"density":`...)
		dst = strconv.AppendFloat(dst, r.density, 'f', 3, 64)
		dst = append(dst, `,"timestamp":`...)
		dst = strconv.AppendInt(dst, r.ts, 10)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// postReadings sends one encoded batch and returns how many the engine
// accepted (the engine takes a batch whole or not at all).
func (c *client) postReadings(ctx context.Context, body []byte) (int, error) {
	resp, err := c.request(ctx, http.MethodPost, "/api/crowd-risk/readings", body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("POST /api/crowd-risk/readings: %s: %.300s", resp.Status, b)
	}
	return acceptedCount(b)
}

// acceptedCount reads "accepted" from a 202 body. The body also echoes every
// judged reading; the count leads it, so read it without decoding the rest.
func acceptedCount(b []byte) (int, error) {
	const key = `"accepted":`
	if i := bytes.Index(b, []byte(key)); i >= 0 {
		rest := b[i+len(key):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(string(rest[:j])); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("POST /api/crowd-risk/readings: no accepted count in %.200q", b)
}
