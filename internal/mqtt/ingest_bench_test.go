package mqtt

import (
	"bytes"
	"fmt"
	"log/slog"
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
	// Quiet, as in production: the tests' debug log costs a line per batch.
	sub := startSubscriber(b, br, "engine-1", eng, func(o *Options) { o.Logger = slog.New(slog.DiscardHandler) })
	sub.waitConnected(b)
	pub, err := testenv.MosquittoPub()
	if err != nil {
		b.Fatal(err)
	}
	base := time.Now().UnixMilli() - 60_000
	b.ResetTimer()
	// In chunks, each sent once the engine has nearly caught up with the
	// one before: a mosquitto_pub that runs far ahead of the subscriber
	// makes the broker queue tens of thousands of messages, and mosquitto
	// 2.0 then disconnects the publisher ("out of memory") and loses the
	// rest of its input.
	const chunk = 5000
	for sent := 0; sent < b.N; {
		var lines bytes.Buffer
		n := min(chunk, b.N-sent)
		for i := sent; i < sent+n; i++ {
			lines.WriteString(reading("north-stand", fmt.Sprintf("s-%d", i%16), 1+float64(i%7)/10, base+int64(i/16)))
			lines.WriteByte('\n')
		}
		cmd := exec.Command(pub, "-h", "127.0.0.1", "-p", fmt.Sprint(br.Port()), "-q", "1",
			"-t", "crowdrisk/readings/bench", "-l")
		cmd.Stdin = &lines
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mosquitto_pub: %v %s", err, out)
		}
		sent += n
		waitFor(b, 20*time.Second, func() bool { return eng.accepted.Load() >= int64(sent-chunk/2) },
			func() string { return fmt.Sprint("accepted ", eng.accepted.Load(), " of ", sent, "\n", br.Log()) })
	}
	waitFor(b, 20*time.Second, func() bool { return eng.accepted.Load() == int64(b.N) },
		func() string { return fmt.Sprint("accepted ", eng.accepted.Load(), " of ", b.N, "\n", br.Log()) })
}
