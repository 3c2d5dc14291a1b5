package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MosquittoServer is a mosquitto broker owned by a test, on a loopback port
// of its own (never the system service's 1883). It keeps its port and its
// persistence file across Stop and Start, so a test can take the broker away
// and bring it back with the QoS 1 messages it queued for persistent
// sessions.
type MosquittoServer struct {
	t      testing.TB
	bin    string
	dir    string
	port   int
	config string

	process
}

// MosquittoOption changes how the broker is configured.
type MosquittoOption func(*mosquittoOptions)

type mosquittoOptions struct {
	user, password  string
	maxInflight     int
	tlsCert, tlsKey string
}

// WithMosquittoTLS serves TLS (mqtts) with this PEM certificate and key
// instead of plain MQTT.
func WithMosquittoTLS(certFile, keyFile string) MosquittoOption {
	return func(o *mosquittoOptions) { o.tlsCert, o.tlsKey = certFile, keyFile }
}

// WithMosquittoUser makes the broker refuse anonymous clients and accept
// only this user.
func WithMosquittoUser(user, password string) MosquittoOption {
	return func(o *mosquittoOptions) { o.user, o.password = user, password }
}

// WithMaxInflight sets max_inflight_messages: how many QoS 1 messages the
// broker sends a client before it has their acknowledgements (mosquitto's
// default is 20; 0 is no limit).
func WithMaxInflight(n int) MosquittoOption {
	return func(o *mosquittoOptions) { o.maxInflight = n }
}

// Mosquitto starts a broker with persistence in t.TempDir() on a free
// loopback port and stops it when the test ends.
func Mosquitto(t testing.TB, opts ...MosquittoOption) *MosquittoServer {
	t.Helper()
	o := mosquittoOptions{maxInflight: 20}
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := MosquittoBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := &MosquittoServer{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(m.Stop)
	if err := onFreePort(func(port int) error {
		m.port = port
		m.config = m.writeConfig(o)
		return m.start()
	}); err != nil {
		t.Fatalf("testenv: start mosquitto: %v", err)
	}
	return m
}

// MosquittoBinary finds the broker (in /usr/sbin, not on a non-root PATH).
func MosquittoBinary() (string, error) {
	bin, err := lookBinary("mosquitto", "mosquitto")
	if err == nil {
		return bin, nil
	}
	if _, serr := os.Stat("/usr/sbin/mosquitto"); serr != nil {
		return "", err
	}
	return "/usr/sbin/mosquitto", nil
}

// MosquittoPub finds mosquitto_pub (Debian package mosquitto-clients).
func MosquittoPub() (string, error) { return lookBinary("mosquitto_pub", "mosquitto-clients") }

func (m *MosquittoServer) writeConfig(o mosquittoOptions) string {
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", m.port),
		"persistence true",
		"persistence_location " + m.dir + "/",
		"autosave_interval 1",
		"log_dest file " + filepath.Join(m.dir, "mosquitto.log"),
		"log_type error",
		"log_type warning",
		"log_type notice",
		"log_type information",
		"connection_messages true",
		fmt.Sprintf("max_inflight_messages %d", o.maxInflight),
		"max_queued_messages 0",
		"per_listener_settings false",
		// Run as root, mosquitto would switch to the user "mosquitto", who
		// cannot write the test's directory (log, persistence, passwords).
		"user " + currentUser(),
	}
	if o.tlsCert != "" {
		conf = append(conf, "certfile "+o.tlsCert, "keyfile "+o.tlsKey)
	}
	if o.user != "" {
		pw := filepath.Join(m.dir, "passwd")
		if err := os.WriteFile(pw, []byte(o.user+":"+o.password+"\n"), 0o600); err != nil {
			m.t.Fatalf("testenv: write mosquitto passwords: %v", err)
		}
		// mosquitto_passwd -U hashes the plain-text file in place.
		passwd, err := lookBinary("mosquitto_passwd", "mosquitto")
		if err != nil {
			m.t.Fatal(err)
		}
		if out, err := exec.Command(passwd, "-U", pw).CombinedOutput(); err != nil {
			m.t.Fatalf("testenv: mosquitto_passwd: %v %s", err, out)
		}
		conf = append(conf, "allow_anonymous false", "password_file "+pw)
	} else {
		conf = append(conf, "allow_anonymous true")
	}
	path := filepath.Join(m.dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		m.t.Fatalf("testenv: write mosquitto config: %v", err)
	}
	return path
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "root"
}

// Addr is host:port for clients.
func (m *MosquittoServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// Port is the broker's port.
func (m *MosquittoServer) Port() int { return m.port }

// URL is the mqtt:// URL of the broker.
func (m *MosquittoServer) URL() string { return "mqtt://" + m.Addr() }

// Log is the broker's log so far, for a failure message.
func (m *MosquittoServer) Log() string { return logTail(filepath.Join(m.dir, "mosquitto.log")) }

// Start starts the broker again after Stop, on the same port, with what it
// persisted. It does nothing when the broker is running.
func (m *MosquittoServer) Start() {
	m.t.Helper()
	var err error
	// The port was ours a moment ago; a socket in TIME_WAIT may hold it
	// briefly after a kill.
	for i := 0; i < 50; i++ {
		if err = m.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.t.Fatalf("testenv: restart mosquitto: %v", err)
}

func (m *MosquittoServer) start() error {
	return m.process.start(killed(m.bin, "-c", m.config),
		func(exited <-chan struct{}) error { return waitTCP(m.Addr(), exited, 10*time.Second) },
		func() string { return m.Log() })
}

// Stop shuts the broker down (SIGTERM: it saves its persistence file) and
// waits until it has exited. Stopping a stopped broker does nothing.
func (m *MosquittoServer) Stop() { m.stop(syscall.SIGTERM) }

// Kill ends the broker with SIGKILL: what it had not saved is lost.
func (m *MosquittoServer) Kill() { m.stop(syscall.SIGKILL) }
