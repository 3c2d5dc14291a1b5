package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
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

// buildEngine builds the real binary, as a user would run it, with the
// harness shared with cmd/crowdrisk's tests (internal/testenv). The build
// cache makes every build after the first a link step.
func buildEngine(t *testing.T) string {
	t.Helper()
	bin, err := testenv.BuildBinary(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// engine is one crowdrisk process; start (after kill) restarts it on its
// port and data dir, as a redeploy would.
type engine struct {
	*testenv.Process
	addr   string
	bearer string // token for the test's own API calls; empty without a secret
}

// startEngine starts the loopback demo: no JWT secret, everyone is admin.
func startEngine(t *testing.T, bin string, extra ...string) *engine {
	t.Helper()
	return startEngineEnv(t, bin, nil, extra...)
}

// startEngineEnv starts an engine with env ("KEY=value") added to an
// environment cleared of every CROWDRISK_* variable, so that a secret
// exported in the shell running the tests cannot change what a test means.
// It is ready when /readyz answers (it needs no token).
func startEngineEnv(t *testing.T, bin string, env []string, extra ...string) *engine {
	t.Helper()
	p := testenv.StartProcess(t, bin, testenv.ProcessOptions{Args: extra, Env: env, ReadyPath: "/readyz"})
	return &engine{Process: p, addr: p.Addr}
}

func (e *engine) url(path string) string { return e.Base + path }

func (e *engine) start() { e.Start() }

// kill ends the process the hard way (SIGKILL): no graceful goodbye to
// the browsers, like a crash or a power cut.
func (e *engine) kill() { e.Kill() }

// authorize adds the engine's test token to a request of the test's own.
func (e *engine) authorize(req *http.Request) {
	if e.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+e.bearer)
	}
}

// engineEnv is the test's environment without CROWDRISK_* variables, plus env.
func engineEnv(env []string) []string { return testenv.ProcessEnv(env) }

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
