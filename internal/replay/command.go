package replay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/mqtt"
)

// command is the replay subcommand with its edges (clock, sleep,
// environment, HTTP client) injectable for tests.
type command struct {
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	getenv func(string) string
	client *http.Client
}

// Run implements `crowdrisk replay FILE`: it turns a trajectory file over a
// measurement area, or a CSV of zone readings, into readings and posts them
// to a running engine at the chosen speed.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := command{
		now:    time.Now,
		sleep:  Sleep,
		getenv: os.Getenv,
		client: &http.Client{Timeout: 30 * time.Second},
	}
	return c.run(ctx, args, stdout, stderr)
}

type replayFlags struct {
	url, token, zone, format, unit string
	mqtt, mqttTopic                string
	fps, speed                     float64
	area                           Rect
	hold                           time.Duration
	dryRun                         bool
}

func (c command) parse(args []string, stderr io.Writer) (replayFlags, string, error) {
	f := replayFlags{area: ClassicArea}
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crowdrisk replay [flags] FILE\n\nReplays pedestrian trajectories (id frame x y z) over a measurement area, or a CSV of\ntimestamp,zoneId,density|count readings, into a running engine.\n\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "engine base URL")
	fs.StringVar(&f.mqtt, "mqtt", "", "publish to this MQTT broker (mqtt://[user@]host:1883 or mqtts://, password in $CROWDRISK_MQTT_PASSWORD) instead of posting to --url")
	fs.StringVar(&f.mqttTopic, "mqtt-topic", "crowdrisk/readings/replay", "topic to publish the readings to with --mqtt (QoS 1)")
	fs.StringVar(&f.token, "token", c.getenv("CROWDRISK_TOKEN"), "bearer token with the sensor role (default $CROWDRISK_TOKEN)")
	fs.StringVar(&f.zone, "zone", "", "zone id the trajectory densities are sent for (required for trajectories)")
	fs.StringVar(&f.format, "format", "", "trajectories or csv (default: guessed from the file)")
	fs.StringVar(&f.unit, "unit", "cm", "unit of trajectory x and y: cm or m")
	fs.Float64Var(&f.fps, "fps", 16, "trajectory frames per second")
	fs.Func("area", "measurement area x0,y0,x1,y1 in metres (default 0,-2,1.8,0: the classic 3.6 m² area)", func(s string) error {
		r, err := parseRect(s)
		f.area = r
		return err
	})
	fs.Float64Var(&f.speed, "speed", 1, "replay speed factor; 0 = as fast as possible")
	fs.DurationVar(&f.hold, "hold", 150*time.Second, "after a trajectory recording, keep sending its last sample this long, so the engine's 120 s hysteresis hold can lower the level again")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the readings instead of sending them")
	// Flags may come before or after FILE ("replay FILE --zone x" reads
	// as naturally as "replay --zone x FILE"): the flag package stops at
	// the first argument that is not a flag, so parse what follows it too.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return f, "", err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return f, "", crowd.Invalidf("FILE", "exactly one file to replay is required")
	}
	if f.speed < 0 {
		return f, "", crowd.Invalidf("speed", "must not be negative")
	}
	if f.hold < 0 {
		return f, "", crowd.Invalidf("hold", "must not be negative")
	}
	return f, files[0], nil
}

func (c command) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, path, err := c.parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	format := f.format
	if format == "" {
		format = guessFormat(path, data)
	}
	var readings []crowd.ReadingInput
	switch format {
	case "csv":
		if readings, err = ParseCSV(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case "trajectories":
		if f.zone == "" {
			return crowd.Invalidf("zone", "is required for a trajectory file (--zone ID)")
		}
		t, err := ParseTrajectories(bytes.NewReader(data), TrajectoryOptions{Unit: f.unit, FPS: f.fps})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		samples := Hold(t.Densities(f.area), f.hold)
		if len(samples) == 0 {
			return crowd.Invalidf("area", "the measurement area is empty")
		}
		// Stamp the recording so that it ends now: even as fast as possible,
		// no reading is from the future, which the engine refuses.
		last := samples[len(samples)-1].Offset
		readings = Readings(f.zone, samples, c.now().Add(-last).Truncate(time.Millisecond))
		fmt.Fprintf(stderr, "%s: %d persons, %d one-second samples over %.2f m²\n", path, t.Persons(), len(samples), f.area.Area())
	default:
		return crowd.Invalidf("format", "must be trajectories or csv, not %q", format)
	}

	if f.dryRun {
		return printReadings(stdout, readings)
	}
	sent := 0
	sink, target := HTTPSink(c.client, f.url, f.token), f.url
	if f.mqtt != "" {
		pub, err := mqtt.Dial(ctx, mqtt.Broker{URL: f.mqtt, Password: c.getenv("CROWDRISK_MQTT_PASSWORD")})
		if err != nil {
			return err
		}
		defer pub.Close()
		sink, target = MQTTSink(pub, f.mqttTopic), "topic "+f.mqttTopic
	}
	counting := func(ctx context.Context, b []crowd.ReadingInput) error {
		if err := sink(ctx, b); err != nil {
			return err
		}
		sent += len(b)
		return nil
	}
	if err := Feed(ctx, readings, f.speed, counting, c.sleep); err != nil {
		return fmt.Errorf("replay stopped after %d of %d readings: %w", sent, len(readings), err)
	}
	fmt.Fprintf(stderr, "sent %d readings to %s\n", sent, target)
	return nil
}

// Hold extends samples by repeating the last one every second for d: the
// measurement area stays as the recording left it (empty, for the corridor).
func Hold(samples []Sample, d time.Duration) []Sample {
	if len(samples) == 0 || d <= 0 {
		return samples
	}
	last := samples[len(samples)-1]
	out := samples[:len(samples):len(samples)]
	for off := time.Second; off <= d; off += time.Second {
		s := last
		s.Offset = last.Offset + off
		out = append(out, s)
	}
	return out
}

// guessFormat takes a .csv name or a timestamp header for CSV, anything
// else for trajectories.
func guessFormat(path string, data []byte) string {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return "csv"
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.HasPrefix(bytes.TrimSpace(first), []byte("timestamp")) {
		return "csv"
	}
	return "trajectories"
}

func parseRect(s string) (Rect, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Rect{}, fmt.Errorf("want x0,y0,x1,y1 in metres")
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return Rect{}, fmt.Errorf("%q is not a number", p)
		}
		v[i] = f
	}
	r := Rect{v[0], v[1], v[2], v[3]}
	if r.Area() == 0 {
		return Rect{}, fmt.Errorf("the area is empty")
	}
	return r, nil
}

// printReadings writes the readings as a CSV that ParseCSV reads back, so a
// dry run of a trajectory file can be kept and replayed later.
func printReadings(w io.Writer, readings []crowd.ReadingInput) error {
	bw := bufio.NewWriter(w)
	byCount := len(readings) > 0 && readings[0].Density == nil
	if byCount {
		fmt.Fprintln(bw, "timestamp,zoneId,count")
	} else {
		fmt.Fprintln(bw, "timestamp,zoneId,density")
	}
	for _, r := range readings {
		switch {
		case byCount && r.Count != nil:
			fmt.Fprintf(bw, "%d,%s,%d\n", *r.Timestamp, r.ZoneID, *r.Count)
		case !byCount && r.Density != nil:
			fmt.Fprintf(bw, "%d,%s,%s\n", *r.Timestamp, r.ZoneID, strconv.FormatFloat(*r.Density, 'f', -1, 64))
		default:
			return crowd.Invalidf("readings", "mixed counts and densities cannot be printed as one CSV")
		}
	}
	return bw.Flush()
}
