package sse

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"sync"

	"github.com/crowdrisk/crowdrisk/internal/event"
)

// Compressed streams without a compressor per connection.
//
// A gzip stream is a header, a DEFLATE stream and a trailer (CRC-32 and
// length of the uncompressed data). DEFLATE is a sequence of blocks, and a
// sync flush ends a compressor's output on a byte boundary with no final
// block, so the outputs of independent compressors can be concatenated
// (this is how parallel gzip works). So each event is compressed once, when
// the first compressed stream sends it, and every compressed stream sends
// the same bytes; what is unique to one stream (its first frames, a
// heartbeat, its goodbye) goes out in stored (uncompressed) blocks, which
// need no compressor at all. A compressed stream then costs eight bytes of
// state instead of the ~1 MiB of a compress/gzip writer, and can be served by
// the writer pool like any other.

var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// deflateFrame compresses b into a sync-flushed, non-final DEFLATE segment.
func deflateFrame(b []byte) []byte {
	var out bytes.Buffer
	w := flaters.Get().(*flate.Writer)
	w.Reset(&out)
	_, _ = w.Write(b)
	_ = w.Flush()
	flaters.Put(w)
	return out.Bytes()
}

// gzipHeader: magic, deflate, no flags, no time, no extra flags, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

// wire encodes what goes on one stream: plain, or gzip (gz set).
type wire struct {
	gz   bool
	crc  uint32
	size uint32
}

// start appends what precedes the first frame.
func (w *wire) start(dst []byte) []byte {
	if w.gz {
		dst = append(dst, gzipHeader...)
	}
	return dst
}

// event appends a shared event frame.
func (w *wire) event(dst []byte, e *event.Event) []byte {
	var c Codec
	if !w.gz {
		return append(dst, e.Frame(c)...)
	}
	w.account(e.Frame(c))
	return append(dst, e.Deflated(c)...)
}

// raw appends bytes unique to this stream.
func (w *wire) raw(dst, b []byte) []byte {
	if !w.gz {
		return append(dst, b...)
	}
	w.account(b)
	for len(b) > 0 {
		n := min(len(b), 0xffff)
		// A stored block: BFINAL=0, BTYPE=00 (the rest of the byte is
		// padding, we are on a byte boundary), then LEN and its complement.
		dst = append(dst, 0, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		dst = append(dst, b[:n]...)
		b = b[n:]
	}
	// An empty stored block, as a compressor's sync flush ends: decoders
	// (Go's, zlib's) hand out what they have only when they meet one, so
	// without it a browser would sit on this frame until the next arrived.
	return append(dst, 0, 0, 0, 0xff, 0xff)
}

// end appends what closes the stream: a final empty block and the trailer.
func (w *wire) end(dst []byte) []byte {
	if !w.gz {
		return dst
	}
	dst = append(dst, 1, 0, 0, 0xff, 0xff) // final, stored, empty
	dst = binary.LittleEndian.AppendUint32(dst, w.crc)
	return binary.LittleEndian.AppendUint32(dst, w.size)
}

func (w *wire) account(b []byte) {
	w.crc = crc32.Update(w.crc, crc32.IEEETable, b)
	w.size += uint32(len(b))
}
