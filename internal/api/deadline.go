package api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// codeRequestTimeout answers a body that did not arrive in time (408).
const codeRequestTimeout = "request_timeout"

// DefaultBodyTimeout is how long a client has to send a request body.
const DefaultBodyTimeout = 10 * time.Second

// bodyDeadline gives every request body a read deadline. http.Server's
// ReadTimeout cannot: it would also cut the streams, which live for hours.
// Without one a client that sends a chunked body that never ends holds a
// connection and a handler for as long as it likes. Requests without a body
// (every stream) get no deadline: net/http already reads their connection
// in the background, and an expired deadline there cancels the request.
// Once a body is read to its end net/http lifts the deadline itself (when
// it starts that background read), so a handler that then works longer is
// not cut.
func (s *server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			if http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyTimeout)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, timeout: s.bodyTimeout}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody turns the deadline's error into an answer that names it.
type deadlineBody struct {
	io.ReadCloser
	timeout time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, crowd.Errorf(codeRequestTimeout, "the request body did not arrive within %s", b.timeout)
	}
	return n, err
}
