package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repoRoot is the module root (the directory holding go.mod).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// buildEngine builds the real binary, as a user would run it. The build
// cache makes every build after the first a link step.
func buildEngine(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "crowdrisk")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/crowdrisk")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/crowdrisk: %v\n%s", err, out)
	}
	return bin
}

// freeAddr finds a loopback port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// engine is one crowdrisk process; restart keeps its port and data dir,
// as a redeploy would.
type engine struct {
	t       *testing.T
	bin     string
	addr    string
	dataDir string
	args    []string
	env     []string // CROWDRISK_* settings of this engine, "KEY=value"
	bearer  string   // token for the test's own API calls; empty without a secret
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{}
}

// startEngine starts the loopback demo: no JWT secret, everyone is admin.
func startEngine(t *testing.T, bin string, extra ...string) *engine {
	t.Helper()
	return startEngineEnv(t, bin, nil, extra...)
}

// startEngineEnv starts an engine with env ("KEY=value") added to an
// environment cleared of every CROWDRISK_* variable, so that a secret
// exported in the shell running the tests cannot change what a test means.
func startEngineEnv(t *testing.T, bin string, env []string, extra ...string) *engine {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "engine.log"))
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, bin: bin, addr: freeAddr(t), dataDir: filepath.Join(dir, "data"), args: extra, env: env, log: logf}
	t.Cleanup(func() {
		e.kill()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("engine log:\n%s", tail(string(b), 4000))
		}
	})
	e.start()
	return e
}

func (e *engine) url(path string) string { return "http://" + e.addr + path }

func (e *engine) start() {
	e.t.Helper()
	args := append([]string{"--addr", e.addr, "--data-dir", e.dataDir, "--heartbeat", "1s"}, e.args...)
	e.cmd = exec.Command(e.bin, args...)
	e.cmd.Env = engineEnv(e.env)
	e.cmd.Stdout = e.log
	e.cmd.Stderr = e.log
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(e.cmd, e.exited)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-e.exited:
			e.t.Fatalf("engine exited during start-up: %v", e.cmd.ProcessState)
		default:
		}
		// /readyz needs no token, so this works with and without a secret.
		res, err := http.Get(e.url("/readyz"))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("engine did not answer on %s within 20s", e.addr)
}

// authorize adds the engine's test token to a request of the test's own.
func (e *engine) authorize(req *http.Request) {
	if e.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+e.bearer)
	}
}

// engineEnv is the test's environment without CROWDRISK_* variables, plus env.
func engineEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CROWDRISK_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// kill ends the process the hard way (SIGKILL): no graceful goodbye to
// the browsers, like a crash or a power cut.
func (e *engine) kill() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	select {
	case <-e.exited:
		return
	default:
	}
	_ = e.cmd.Process.Kill()
	<-e.exited
}

// holdStream opens a stream and keeps it open until the test ends or
// release is called, so that an engine started with --max-streams 1 turns
// every other stream away (503) while the rest of the API answers.
func holdStream(t *testing.T, e *engine) (release func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url("/api/crowd-risk/stream?topics=density,alerts"), nil)
	e.authorize(req)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("holding the stream slot: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			if _, err := res.Body.Read(buf); err != nil {
				return
			}
		}
	}()
	release = func() {
		cancel()
		res.Body.Close()
		<-done
	}
	t.Cleanup(release)
	return release
}

// streamRefused checks that the engine now turns a second stream away.
func streamRefused(e *engine) error {
	req, _ := http.NewRequest(http.MethodGet, e.url("/api/crowd-risk/stream?topics=density,alerts"), nil)
	e.authorize(req)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		return fmt.Errorf("second stream: status %d, want 503", res.StatusCode)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
