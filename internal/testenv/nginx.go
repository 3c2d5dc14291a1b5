package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NginxServer is an nginx process owned by a test: the Debian package's
// binary, run in the foreground with its own prefix, pid file, logs and
// temporary directories in t.TempDir(), so it touches nothing of a system
// nginx and needs no service.
type NginxServer struct {
	// Addr is where nginx listens (127.0.0.1:port).
	Addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Nginx starts nginx on a free loopback port with site, the server-level
// configuration (what an operator includes inside http {}), which gets the
// port to listen on. It is stopped when the test ends.
//
// The http block around it is what a typical installation has site-wide,
// gzip included and switched on for event streams and JSON, so a test sees
// whether the site configuration keeps nginx from compressing twice.
func Nginx(t testing.TB, site func(port int) string) *NginxServer {
	t.Helper()
	bin, err := lookBinary("nginx", "nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil { // not on a non-root PATH
			t.Fatal(err)
		}
		bin = "/usr/sbin/nginx"
	}
	n := &NginxServer{dir: t.TempDir()}
	t.Cleanup(n.stop)
	// The port is only known free when chosen; retry if something took it.
	for attempt := 0; ; attempt++ {
		port := FreePort(t)
		n.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		if err := os.WriteFile(filepath.Join(n.dir, "site.conf"), []byte(site(port)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(n.mainConfig()), 0o644); err != nil {
			t.Fatal(err)
		}
		err := n.start(bin)
		if err == nil {
			return n
		}
		if attempt == 2 || !strings.Contains(logTail(filepath.Join(n.dir, "error.log")), "in use") {
			t.Fatalf("testenv: start nginx: %v\n%s", err, logTail(filepath.Join(n.dir, "error.log")))
		}
	}
}

func (n *NginxServer) mainConfig() string {
	d := n.dir
	user := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot enter the
		// test's private temporary directory.
		user = "user root;"
	}
	return fmt.Sprintf(`%[2]s
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 1024; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    default_type application/octet-stream;
    gzip on;
    gzip_proxied any;
    gzip_min_length 1;
    gzip_types text/event-stream application/json text/css application/javascript;
    include %[1]s/site.conf;
}
`, d, user)
}

func (n *NginxServer) start(bin string) error {
	// -e: the error log before the configuration is read, which would
	// otherwise be the system's /var/log/nginx/error.log.
	cmd := exec.Command(bin, "-p", n.dir, "-e", filepath.Join(n.dir, "error.log"),
		"-c", filepath.Join(n.dir, "nginx.conf"), "-g", "daemon off;")
	out, err := os.Create(filepath.Join(n.dir, "stderr.log"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if err := waitTCP(n.Addr, done, 10*time.Second); err != nil {
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%w\n%s", err, logTail(filepath.Join(n.dir, "stderr.log")))
	}
	n.cmd, n.done = cmd, done
	return nil
}

// ErrorLog returns the end of nginx's error log, for failure messages.
func (n *NginxServer) ErrorLog() string { return logTail(filepath.Join(n.dir, "error.log")) }

// stop ends nginx at once (SIGTERM: fast shutdown, open streams closed).
func (n *NginxServer) stop() {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
}
