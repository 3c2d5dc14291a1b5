package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/crowdrisk/crowdrisk/internal/crowd"
)

// ReadingsPath is the engine's ingest route.
const ReadingsPath = "/api/crowd-risk/readings"

// HTTPSink posts each batch as a JSON array to {baseURL}/api/crowd-risk/readings,
// with a bearer token when token is set. A 4xx answer comes back as the
// server's own error (a *crowd.Error when its body is one), so the user sees
// which item and field the engine refused.
func HTTPSink(client *http.Client, baseURL, token string) func(context.Context, []crowd.ReadingInput) error {
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimRight(baseURL, "/") + ReadingsPath
	return func(ctx context.Context, batch []crowd.ReadingInput) error {
		body, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		if ce := serverError(text); ce != nil {
			return fmt.Errorf("POST %s: %s: %w", ReadingsPath, resp.Status, ce)
		}
		return fmt.Errorf("POST %s: %s: %s", ReadingsPath, resp.Status, strings.TrimSpace(string(text)))
	}
}

// serverError reads the engine's JSON error, either bare ({"code",
// "message","field"}) or wrapped ({"error": {...}}).
func serverError(body []byte) *crowd.Error {
	var wrapped struct {
		Error *crowd.Error `json:"error"`
	}
	if json.Unmarshal(body, &wrapped) == nil && wrapped.Error != nil && wrapped.Error.Message != "" {
		return wrapped.Error
	}
	var bare crowd.Error
	if json.Unmarshal(body, &bare) == nil && bare.Message != "" {
		return &bare
	}
	return nil
}
