// Package app wires the engine together: configuration, store, hub, engine,
// streams, API, dashboard and simulator, started and stopped in a known
// order. cmd/crowdrisk only parses the command line and calls it; tests and
// benchmarks start the same App on 127.0.0.1:0 with a temporary data dir.
package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
	"github.com/crowdrisk/crowdrisk/internal/engine"
)

// Config is everything the engine can be told at start-up. Every flag has a
// CROWDRISK_* environment variable; a flag given on the command line wins.
type Config struct {
	Addr    string
	DataDir string
	// TLSCert and TLSKey (PEM files) serve HTTPS, with HTTP/2 negotiated
	// by ALPN: a browser's streams to one host then share one connection
	// instead of HTTP/1.1's six. Both or neither.
	TLSCert   string
	TLSKey    string
	VenueFile string
	Simulate  bool
	SimSeed   int64
	Heartbeat time.Duration

	// JWTSecret (environment only: CROWDRISK_JWT_SECRET) turns on
	// authentication. Without it the engine serves loopback only.
	JWTSecret string
	// JWTAudience and JWTIssuer, when set, must be the aud and iss of every
	// token (tokens minted for another deployment are refused).
	JWTAudience string
	JWTIssuer   string
	Insecure    bool
	// Testing enables the testing controls. Default: on without a secret
	// (the loopback demo), off with one.
	Testing        string // "auto", "on", "off"
	AllowedOrigins []string

	MaxStreams          int
	MaxStreamsPerClient int
	RatePerSecond       float64
	RateBurst           int

	HistorySize    int
	HistoryAge     time.Duration
	EventRetention time.Duration
	EventKeep      int
	WriteTimeout   time.Duration
	BodyTimeout    time.Duration
	ShutdownSpread time.Duration
	MaxClockSkew   time.Duration
	SensorTimeout  time.Duration
	LogLevel       string
	LogFormat      string

	// HistoryRaw is how long every judged reading is stored, HistoryKeep
	// how long the one-minute aggregates are (GET /zones/{id}/history).
	HistoryRaw  time.Duration
	HistoryKeep time.Duration

	// Multi-instance deployment (docs/deployment.md). Postgres (a URL,
	// better given as CROWDRISK_POSTGRES, it may hold a password) puts the
	// store on PostgreSQL; Redis joins the instances that share it.
	Postgres       string
	Redis          string
	RedisPrefix    string
	StreamMaxLen   int
	LeaseTTL       time.Duration
	ForwardTimeout time.Duration

	// Notify: webhooks, escalation, Alertmanager (notify.go).
	Notify NotifyConfig
	// MQTT: readings from a broker (mqtt.go).
	MQTT MQTTConfig
}

// DefaultConfig is the loopback demo of the README.
func DefaultConfig() Config {
	return Config{
		Addr:                "127.0.0.1:8080",
		DataDir:             "data",
		Simulate:            true,
		SimSeed:             1,
		Heartbeat:           30 * time.Second,
		Testing:             "auto",
		MaxStreams:          19500,
		MaxStreamsPerClient: 64,
		RatePerSecond:       50,
		RateBurst:           200,
		HistorySize:         10000,
		HistoryAge:          15 * time.Minute,
		EventRetention:      7 * 24 * time.Hour,
		EventKeep:           100000,
		WriteTimeout:        10 * time.Second,
		BodyTimeout:         10 * time.Second,
		ShutdownSpread:      5 * time.Second,
		MaxClockSkew:        2 * time.Minute,
		SensorTimeout:       crowd.DefaultRules().SensorTimeout,
		HistoryRaw:          time.Hour,
		HistoryKeep:         30 * 24 * time.Hour,
		LogLevel:            "info",
		LogFormat:           "text",
		RedisPrefix:         "crowdrisk:",
		StreamMaxLen:        100000,
		LeaseTTL:            3 * time.Second,
		ForwardTimeout:      5 * time.Second,
		Notify:              defaultNotifyConfig(),
		MQTT:                defaultMQTTConfig(),
	}
}

// ParseFlags reads the serve command's flags over the defaults, with the
// CROWDRISK_* environment as the second source.
func ParseFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("crowdrisk serve", flag.ContinueOnError)
	// A mistyped flag is one line naming it (below), not the whole flag
	// list in front of it; -h still prints the list.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	e := envFlags{fs: fs, getenv: getenv}
	e.str(&c.Addr, "addr", "address to listen on (host:port)")
	e.str(&c.DataDir, "data-dir", "directory of the embedded SQLite database")
	e.str(&c.TLSCert, "tls-cert", "certificate chain (PEM): serve HTTPS and HTTP/2 (needs --tls-key)")
	e.str(&c.TLSKey, "tls-key", "private key (PEM) of --tls-cert")
	e.str(&c.VenueFile, "venue", "venue file (JSON, see docs/venue.md) replacing the demo venue")
	e.boolean(&c.Simulate, "simulate", "run the built-in crowd simulator (false: only ingested readings)")
	e.int64(&c.SimSeed, "sim-seed", "simulator seed")
	e.duration(&c.Heartbeat, "heartbeat", "interval of the streams' heartbeat comments")
	e.boolean(&c.Insecure, "insecure", "allow listening beyond loopback without CROWDRISK_JWT_SECRET (everyone is admin!)")
	e.str(&c.JWTAudience, "jwt-audience", `required "aud" of every token (crowdrisk token sets it from the same variable)`)
	e.str(&c.JWTIssuer, "jwt-issuer", `required "iss" of every token (crowdrisk token sets it from the same variable)`)
	e.str(&c.Testing, "testing", "testing controls: auto (on in the loopback demo), on, off")
	var origins string
	e.str(&origins, "allowed-origins", "comma-separated origins allowed to call the API (CORS)")
	e.int(&c.MaxStreams, "max-streams", "maximum concurrent streams overall")
	e.int(&c.MaxStreamsPerClient, "max-streams-per-client", "maximum concurrent streams per client")
	e.float(&c.RatePerSecond, "rate-limit", "API requests per second per client")
	e.int(&c.RateBurst, "rate-burst", "API request burst per client")
	e.int(&c.HistorySize, "history-size", "events kept in memory for resume")
	e.duration(&c.HistoryAge, "history-age", "age of the in-memory resume history")
	e.duration(&c.EventRetention, "event-retention", "age of the alert events kept in the store for resume")
	e.int(&c.EventKeep, "event-keep", "alert events always kept in the store")
	e.duration(&c.WriteTimeout, "write-timeout", "a stream write that takes longer drops the client (it resumes)")
	e.duration(&c.BodyTimeout, "body-timeout", "time a client has to send a request body (408 beyond)")
	e.duration(&c.ShutdownSpread, "shutdown-spread", "window over which clients are told to reconnect after a shutdown")
	e.duration(&c.MaxClockSkew, "max-clock-skew", "how far in the future a reading may be")
	e.duration(&c.SensorTimeout, "sensor-timeout", "a sensor silent this long raises a sensor alert (a zone's rules.sensorTimeout overrides it)")
	e.duration(&c.HistoryRaw, "history-raw", "how long every judged reading is stored (the density history's raw tier)")
	e.duration(&c.HistoryKeep, "history-keep", "how long the one-minute density aggregates are stored")
	e.str(&c.LogLevel, "log-level", "debug, info, warn or error")
	e.str(&c.LogFormat, "log-format", "text or json")
	e.str(&c.Postgres, "postgres", "PostgreSQL URL: the store shared by every instance (default: SQLite in --data-dir)")
	e.str(&c.Redis, "redis", "Redis URL: run as one of several instances (needs --postgres)")
	e.str(&c.RedisPrefix, "redis-prefix", "prefix of this deployment's Redis keys")
	e.int(&c.StreamMaxLen, "stream-max-len", "entries kept (about) in the Redis event and command streams")
	e.duration(&c.LeaseTTL, "lease-ttl", "evaluation lease time: a dead leader is replaced after at most this plus a third of it")
	e.duration(&c.ForwardTimeout, "forward-timeout", "how long a write on a follower waits for the leader before 503")
	notifyFlags(&e, &c.Notify, getenv)
	mqttFlags(&e, &c.MQTT, getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "Usage of crowdrisk serve:")
			fs.PrintDefaults()
			return c, err
		}
		return c, fmt.Errorf("%w (crowdrisk serve -h lists the flags)", err)
	}
	if e.err != nil {
		return c, e.err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.JWTSecret = getenv("CROWDRISK_JWT_SECRET")
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, o)
		}
	}
	return c, c.Validate()
}

// Validate checks the values a flag parser cannot.
func (c Config) Validate() error {
	switch {
	case c.Heartbeat < 100*time.Millisecond:
		return fmt.Errorf("--heartbeat must be at least 100ms")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return fmt.Errorf("--tls-cert and --tls-key go together: give both for HTTPS, neither for plain HTTP")
	case c.Testing != "auto" && c.Testing != "on" && c.Testing != "off":
		return fmt.Errorf("--testing must be auto, on or off")
	case c.SensorTimeout < time.Second:
		return fmt.Errorf("--sensor-timeout must be at least 1s")
	case c.HistoryRaw < time.Minute || c.HistoryKeep < c.HistoryRaw:
		return fmt.Errorf("--history-raw must be at least 1m and --history-keep at least --history-raw")
	case c.BodyTimeout <= 0:
		return fmt.Errorf("--body-timeout must be positive")
	case c.MaxStreams < 0 || c.MaxStreamsPerClient < 0:
		return fmt.Errorf("--max-streams and --max-streams-per-client must not be negative")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("--log-format must be text or json")
	case c.Redis != "" && c.Postgres == "":
		// Instances on separate SQLite files would each have their own
		// alert history: a client would see different truths per instance.
		return fmt.Errorf("--redis needs --postgres: instances must share one store")
	case c.Redis != "" && (c.LeaseTTL < 300*time.Millisecond || c.StreamMaxLen < 1000 || c.ForwardTimeout <= 0):
		return fmt.Errorf("--lease-ttl must be at least 300ms, --stream-max-len at least 1000, --forward-timeout positive")
	}
	if err := c.MQTT.validate(); err != nil {
		return err
	}
	return c.Notify.validate()
}

// Rules are the crowd rules the flags set: the defaults with SensorTimeout.
func (c Config) Rules() crowd.Rules {
	r := crowd.DefaultRules()
	r.SensorTimeout = c.SensorTimeout
	return r
}

// TestingEnabled resolves "auto".
func (c Config) TestingEnabled() bool {
	switch c.Testing {
	case "on":
		return true
	case "off":
		return false
	}
	return c.JWTSecret == ""
}

// NewLogger builds the process logger.
func (c Config) NewLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// envFlags registers flags whose defaults come from CROWDRISK_<NAME>.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	err    error
}

func (e *envFlags) env(name string) (string, string, bool) {
	key := envKey(name)
	v := e.getenv(key)
	return key, v, v != ""
}

func (e *envFlags) fail(key string, err error) {
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %w", key, err)
	}
}

func (e *envFlags) str(p *string, name, usage string) {
	if _, v, ok := e.env(name); ok {
		*p = v
	}
	e.fs.StringVar(p, name, *p, usage+" [$"+envKey(name)+"]")
}

func (e *envFlags) boolean(p *bool, name, usage string) {
	if key, v, ok := e.env(name); ok {
		b, err := strconv.ParseBool(v)
		e.fail(key, err)
		*p = b
	}
	e.fs.BoolVar(p, name, *p, usage+" [$"+envKey(name)+"]")
}

func (e *envFlags) int(p *int, name, usage string) {
	if key, v, ok := e.env(name); ok {
		n, err := strconv.Atoi(v)
		e.fail(key, err)
		*p = n
	}
	e.fs.IntVar(p, name, *p, usage+" [$"+envKey(name)+"]")
}

func (e *envFlags) int64(p *int64, name, usage string) {
	if key, v, ok := e.env(name); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		e.fail(key, err)
		*p = n
	}
	e.fs.Int64Var(p, name, *p, usage+" [$"+envKey(name)+"]")
}

func (e *envFlags) float(p *float64, name, usage string) {
	if key, v, ok := e.env(name); ok {
		n, err := strconv.ParseFloat(v, 64)
		e.fail(key, err)
		*p = n
	}
	e.fs.Float64Var(p, name, *p, usage+" [$"+envKey(name)+"]")
}

func (e *envFlags) duration(p *time.Duration, name, usage string) {
	if key, v, ok := e.env(name); ok {
		d, err := time.ParseDuration(v)
		e.fail(key, err)
		*p = d
	}
	e.fs.DurationVar(p, name, *p, usage+" [$"+envKey(name)+"]")
}

func envKey(name string) string {
	return "CROWDRISK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// History is the stored density history the flags set.
func (c Config) History() engine.HistoryOptions {
	return engine.HistoryOptions{Raw: c.HistoryRaw, Keep: c.HistoryKeep}
}
