package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// serverMetrics is one scrape of the engine's /metrics: the unlabelled
// series the benchmark needs, by name ("process_resident_memory_bytes"),
// and labelled ones by their full text ("crowdrisk_streams_open{topic=\"density\"}").
type serverMetrics map[string]float64

// parsePromText reads the Prometheus text exposition format, keeping the
// samples and skipping comments. It reads only what the benchmark needs
// (no escapes inside label values, which the engine's series do not use).
func parsePromText(r io.Reader) (serverMetrics, error) {
	out := serverMetrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// name[{labels}] value [timestamp]
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			end = strings.IndexByte(line, ' ')
		} else {
			end++
		}
		if end <= 0 || end >= len(line) {
			return nil, fmt.Errorf("metrics: bad line %q", line)
		}
		fields := strings.Fields(line[end:])
		if len(fields) == 0 {
			return nil, fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: bad value in %q", line)
		}
		out[line[:end]] = v
	}
	return out, sc.Err()
}

// scrapeMetrics fetches /metrics; ok is false when the engine serves none
// (the benchmark then reports memory and CPU as unknown).
func (c *client) scrapeMetrics(ctx context.Context) (serverMetrics, bool, error) {
	resp, err := c.get(ctx, "/metrics")
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, false, fmt.Errorf("GET /metrics: %s: %s", resp.Status, b)
	}
	m, err := parsePromText(resp.Body)
	return m, err == nil, err
}
