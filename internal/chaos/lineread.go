package chaos

import (
	"bufio"
	"bytes"
	"io"
	"time"
)

// lineReader hands the spec parser (internal/sse) one line per Read and
// notes two things the parser cannot tell us:
//   - a checkpoint: a block with an id and no data (hub.Start.Checkpoint).
//     The parser dispatches nothing for it, yet it is where the server says
//     "your live queue starts here", which the checker needs to know how far
//     a reset's snapshot reaches. Because the parser gets one line per Read,
//     onCheckpoint runs after the messages before it were returned by Next
//     and before the messages after it, so the two stay in stream order.
//   - liveness: touch is called on every line, so a stream from a paused
//     (SIGSTOP) server, which never ends by itself, can be timed out.
type lineReader struct {
	br           *bufio.Reader
	pending      []byte
	sawID        bool
	sawData      bool
	id           string
	onCheckpoint func(id string)
	touch        func()
}

func newLineReader(r io.Reader, onCheckpoint func(string), touch func()) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), onCheckpoint: onCheckpoint, touch: touch}
}

func (l *lineReader) Read(p []byte) (int, error) {
	if len(l.pending) == 0 {
		line, err := l.br.ReadBytes('\n')
		if len(line) == 0 {
			return 0, err
		}
		l.touch()
		l.observe(line)
		l.pending = line
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

// observe tracks the fields of the current block (the server ends lines
// with LF only; a CR would merely hide a checkpoint, never a message).
func (l *lineReader) observe(line []byte) {
	s := bytes.TrimRight(line, "\r\n")
	switch {
	case len(s) == 0:
		if l.sawID && !l.sawData {
			l.onCheckpoint(l.id)
		}
		l.sawID, l.sawData, l.id = false, false, ""
	case bytes.HasPrefix(s, []byte("id:")):
		l.sawID, l.id = true, string(bytes.TrimPrefix(bytes.TrimPrefix(s, []byte("id:")), []byte(" ")))
	case bytes.HasPrefix(s, []byte("data")):
		l.sawData = true
	}
}

// idleTimer cancels a stream that has been silent for too long.
type idleTimer struct {
	t *time.Timer
	d time.Duration
}

func (i *idleTimer) touch() { i.t.Reset(i.d) }
