package mqtt

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/testenv"
)

// BenchmarkOneReadingPerMessage is the subscriber and the real engine (a
// SQLite file) taking b.N one-reading messages that mosquitto_pub, another
// process, publishes at QoS 1 through a real broker: the CPU profile of this
// process is the engine side only (go test -cpuprofile). The figure that
// counts is BENCHMARKS.md's (`crowdrisk bench --mqtt`, the engine pinned).
func BenchmarkOneReadingPerMessage(b *testing.B) {
	br := testenv.Mosquitto(b, testenv.WithMaxInflight(1000))
	eng := newTestEngine(b)
	sub := startSubscriber(b, br, "engine-1", eng)
	sub.waitConnected(b)
	pub, err := testenv.MosquittoPub()
	if err != nil {
		b.Fatal(err)
	}
	var lines bytes.Buffer
	base := time.Now().UnixMilli() - 60_000
	for i := range b.N {
		lines.WriteString(reading("north-stand", fmt.Sprintf("s-%d", i%16), 1+float64(i%7)/10, base+int64(i/16)))
		lines.WriteByte('\n')
	}
	b.ResetTimer()
	cmd := exec.Command(pub, "-h", "127.0.0.1", "-p", fmt.Sprint(br.Port()), "-q", "1",
		"-t", "crowdrisk/readings/bench", "-l", "--repeat-delay", "0")
	cmd.Stdin = &lines
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("mosquitto_pub: %v %s", err, out)
	}
	waitFor(b, 120*time.Second, func() bool { return eng.accepted.Load() == int64(b.N) },
		func() string {
			return fmt.Sprint("accepted ", eng.accepted.Load(), " of ", b.N, "\n", sub.log.String())
		})
}
