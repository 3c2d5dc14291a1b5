package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxSensorsPerZone is the engine's cap (crowd.MaxSensorsPerZone): more
// sensors than zones × this would be refused, not measured.
const maxSensorsPerZone = 64

// ingestSensors is ingest mode with --sensors N: N sensors, each on its own
// keep-alive connection, each posting one reading per request and waiting
// for the answer before the next, as fast as the engine answers, for
// Duration. It measures what a venue full of small devices costs the
// engine: a request, a decode and a judgement per reading, with N
// connections open at once (issue 14: 1,000 sensors, ≥ 40,000 readings/s).
//
// The client side is raw TCP with a hand-written request and a minimal
// response reader, for the reason the streams are (see package comment):
// the generator shares the machine and must not be what is measured.
func (l *loader) ingestSensors(ctx context.Context) error {
	n := l.cfg.Sensors
	if n > len(l.zones)*maxSensorsPerZone {
		return fmt.Errorf("--sensors %d: the venue has %d zones and the engine takes at most %d sensors per zone; use a venue with at least %d zones",
			n, len(l.zones), maxSensorsPerZone, (n+maxSensorsPerZone-1)/maxSensorsPerZone)
	}
	host := l.post.host()
	l.say("%d sensors over %d zones, each on its own connection, one reading per request, for %s", n, len(l.zones), l.cfg.Duration)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var d net.Dialer
	for i := range n {
		c, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return fmt.Errorf("sensor %d of %d: %w", i+1, n, err)
		}
		conns = append(conns, c)
	}
	l.rep.ConnectionsMade = 0 // these are sensors, not streams
	l.rep.note("%d sensor connections, one reading per request", n)

	ctx, cancel := context.WithTimeout(ctx, l.cfg.Duration)
	defer cancel()
	var (
		accepted, refused, sent atomic.Int64
		wg                      sync.WaitGroup
		reqHist                 histogram
	)
	begin := time.Now()
	for i, c := range conns {
		s := sensor{
			conn: c, host: host, token: l.post.token,
			zone: l.zones[i%len(l.zones)], id: fmt.Sprintf("bench-%04d", i),
			phase: float64(i%len(l.zones)) / float64(len(l.zones)),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Closing the connection is what ends a request in flight
			// when the run is over.
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			s.run(ctx, begin, &reqHist, &sent, &accepted, func(err error) {
				if ctx.Err() == nil {
					refused.Add(1)
					l.streams.fail(err)
				}
			})
		}()
	}
	wg.Wait()
	l.rep.LoadSeconds = time.Since(begin).Seconds()
	l.rep.ReadingsSent = sent.Load()
	l.rep.ReadingsAccepted = accepted.Load()
	l.rep.ReadingsRefused = refused.Load()
	lat := reqHist.summary()
	l.rep.RequestLatency = &lat
	return nil
}

// sensor is one simulated device and its connection.
type sensor struct {
	conn        net.Conn
	host, token string
	zone, id    string
	phase       float64
}

// run posts readings until ctx ends or the connection fails (a failed
// sensor reconnects in a real venue; here it is counted and stops, so a
// failure cannot hide in a retry loop).
func (s *sensor) run(ctx context.Context, begin time.Time, hist *histogram, sent, accepted *atomic.Int64, fail func(error)) {
	br := bufio.NewReaderSize(s.conn, 4096)
	var req, body []byte
	var last int64
	for ctx.Err() == nil {
		now := time.Now()
		ts := max(now.UnixMilli(), last+1) // strictly increasing per sensor
		last = ts
		// The same 8 s wave as batch ingest: through every level, so alert
		// commits are part of the load.
		d := 3.5 + 3*math.Sin(2*math.Pi*(now.Sub(begin).Seconds()/8+s.phase))
		body = appendSensorReading(body[:0], s.zone, s.id, d, ts)
		req = appendPost(req[:0], s.host, s.token, body)
		sent.Add(1)
		t0 := time.Now()
		if _, err := s.conn.Write(req); err != nil {
			fail(err)
			return
		}
		status, err := readResponse(br)
		if err != nil {
			fail(err)
			return
		}
		hist.record(time.Since(t0))
		if status != 202 {
			fail(fmt.Errorf("POST /api/crowd-risk/readings: status %d", status))
			continue
		}
		accepted.Add(1)
	}
}

func appendSensorReading(dst []byte, zone, id string, density float64, ts int64) []byte {
	dst = append(dst, `{"zoneId":`...)
	dst = strconv.AppendQuote(dst, zone)
	dst = append(dst, `,"sensorId":`...)
	dst = strconv.AppendQuote(dst, id)
	dst = append(dst, `,"density":`...)
	dst = strconv.AppendFloat(dst, density, 'f', 3, 64)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	return append(dst, '}')
}

func appendPost(dst []byte, host, token string, body []byte) []byte {
	dst = append(dst, "POST /api/crowd-risk/readings HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	if token != "" {
		dst = append(dst, "\r\nAuthorization: Bearer "...)
		dst = append(dst, token...)
	}
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

// readResponse reads one HTTP/1.1 response with a Content-Length body (what
// the engine's API always sends) and returns its status, discarding the
// body. Anything else is an error: the run measures the engine, and a
// response it cannot frame means the connection is no longer usable.
func readResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 { // the blank line
			break
		}
		if k, v, ok := bytes.Cut(h, []byte{':'}); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if _, err := br.Discard(length); err != nil {
		return 0, err
	}
	return status, nil
}

// host is the client's host:port, for raw connections (plain HTTP only:
// Validate refuses --sensors with --h2).
func (c *client) host() string {
	u, err := url.Parse(c.base)
	if err != nil {
		return c.base
	}
	return u.Host
}
