package api

import (
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// ingestAnswer is the answer to POST /readings.
type ingestAnswer struct {
	Accepted int                    `json:"accepted"`
	Readings []crowd.DensityReading `json:"readings"`
}

// answerBufs holds the buffers writeIngestAnswer encodes into.
var answerBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledAnswer bounds the buffers kept for the next answer (one of
// 1,000 readings is about 200 kB): a rare huge batch's is left to the GC.
const maxPooledAnswer = 1 << 20

// writeIngestAnswer writes what writeJSON(w, http.StatusAccepted,
// ingestAnswer{len(out), nonNil(out)}) writes, the same headers, status
// and bytes (its newline included), but encodes the readings with
// crowd.DensityReading.AppendJSON instead of reflection, into a pooled
// buffer: encoding/json was a seventh of the handler's CPU for a batch.
// A reading json.Marshal cannot encode (a NaN) goes to writeJSON, for its
// error answer.
func writeIngestAnswer(w http.ResponseWriter, out []crowd.DensityReading) {
	bp := answerBufs.Get().(*[]byte)
	// A judged reading is about 200 bytes; a forecast or a peak adds 50-80.
	b := slices.Grow((*bp)[:0], 32+len(out)*256)
	b = append(b, `{"accepted":`...)
	b = strconv.AppendInt(b, int64(len(out)), 10)
	b = append(b, `,"readings":[`...)
	ok := true
	for i, r := range out {
		if i > 0 {
			b = append(b, ',')
		}
		n := len(b)
		if b = r.AppendJSON(b); len(b) == n {
			ok = false
			break
		}
	}
	if ok {
		b = append(b, "]}\n"...)
		writeJSONBody(w, http.StatusAccepted, b)
	} else {
		writeJSON(w, http.StatusAccepted, ingestAnswer{len(out), nonNil(out)})
	}
	if cap(b) <= maxPooledAnswer {
		*bp = b
		answerBufs.Put(bp)
	}
}
