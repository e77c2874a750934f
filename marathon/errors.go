package marathon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Every error returned by this package that has one of
// these meanings matches it with errors.Is; *APIError adds the detail.
var (
	// ErrLocked: Marathon answered 409, the app is locked by a running
	// deployment. Retry later (with backoff) or use force.
	ErrLocked = errors.New("marathon: app locked by a deployment")
	// ErrNotFound: Marathon answered 404 (no such app, task or deployment).
	ErrNotFound = errors.New("marathon: not found")
	// ErrUnavailable: Marathon could not be reached, answered 5xx, or the
	// per-call timeout ran out. Transient: back off and retry.
	ErrUnavailable = errors.New("marathon: unavailable")
	// ErrUnauthorized: 401/403 from Marathon or the DC/OS login failed
	// with a credential error. Retrying will not help until the
	// credentials change.
	ErrUnauthorized = errors.New("marathon: unauthorized")
	// ErrBadResponse: a 2xx answer whose body could not be decoded.
	ErrBadResponse = errors.New("marathon: bad response")
)

// APIError is an HTTP error answer from Marathon (or DC/OS in front of
// it). It wraps the sentinel that matches its status, if any.
type APIError struct {
	Status  int    // HTTP status code
	Message string // Marathon's "message", shortened; never contains credentials
	// Deployments lists the ids of the deployments locking the app, when a
	// 409 body names them (the short 409 body does not).
	Deployments []string

	kind error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "marathon: HTTP %d", e.Status)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Deployments) > 0 {
		fmt.Fprintf(&b, " (deployments %s)", strings.Join(e.Deployments, ", "))
	}
	return b.String()
}

// Unwrap returns the sentinel matching the status (nil for statuses
// without one, such as 400 or 422).
func (e *APIError) Unwrap() error { return e.kind }

// maxMessage bounds how much of an error body ends up in an error string.
const maxMessage = 300

// newAPIError builds the typed error for a non-2xx answer. The status, not
// the body shape, decides the sentinel: go-marathon only reports a 409 as
// ErrCodeAppLocked when the body lists deployments, but Marathon also sends
// the short {"message": "App is locked by one or more deployments."}.
func newAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var parsed struct {
		Message     string `json:"message"`
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		e.Message = parsed.Message
		for _, d := range parsed.Deployments {
			if d.ID != "" {
				e.Deployments = append(e.Deployments, d.ID)
			}
		}
	} else if utf8.Valid(body) {
		// Not JSON (e.g. an HTML page from a proxy): keep the text's start.
		e.Message = strings.Join(strings.Fields(string(body)), " ")
	}
	e.Message = shorten(e.Message)
	switch {
	case status == http.StatusConflict:
		e.kind = ErrLocked
	case status == http.StatusNotFound:
		e.kind = ErrNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.kind = ErrUnauthorized
	case status >= 500 || status == http.StatusTooManyRequests:
		e.kind = ErrUnavailable
	}
	return e
}

func shorten(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
