package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody caps what is read from any source; a metrics body of a large
// cluster member is a few hundred KB.
const maxBody = 32 << 20

// get performs one GET and returns the body of a 2xx answer.
func get(ctx context.Context, client *http.Client, url, accept string) ([]byte, error) {
	return getInto(ctx, client, url, accept, nil)
}

// getInto is get reading the body into buf (reset first), so that a
// caller scraping every interval reuses one buffer; the returned body is
// buf's bytes, valid until buf is used again. A nil buf reads into a new
// one.
func getInto(ctx context.Context, client *http.Client, url, accept string, buf *bytes.Buffer) ([]byte, error) {
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxBody+1))
	body := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %w: %w", url, ErrTruncated, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		detail := strings.TrimSpace(string(body))
		if len(detail) > 200 {
			detail = detail[:200]
		}
		return nil, &StatusError{URL: url, Code: resp.StatusCode, Detail: detail}
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: body larger than %d bytes: %w", url, maxBody, ErrBadBody)
	}
	return body, nil
}
