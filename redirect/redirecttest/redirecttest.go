// Package redirecttest holds what the tests of every authenticated client
// need to show that a credential does not follow a redirect: a server on
// another host that counts the credentials it receives, and a transport
// that adds one to every request, as the controller's auth transports do.
package redirecttest

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Foreign is a server standing for another host. It answers every request
// with Body (and ContentType when set) and counts the requests that carried
// an Authorization header.
type Foreign struct {
	URL    string
	stolen atomic.Int32
}

// NewForeign starts a Foreign server, closed when the test ends.
func NewForeign(t testing.TB, contentType, body string) *Foreign {
	t.Helper()
	f := &Foreign{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			f.stolen.Add(1)
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Stolen is how many requests reached it with a credential.
func (f *Foreign) Stolen() int { return int(f.stolen.Load()) }

// WithAuth returns a transport that sets Authorization to value on every
// request before next carries it.
func WithAuth(next http.RoundTripper, value string) http.RoundTripper {
	return authRT{next: next, value: value}
}

type authRT struct {
	next  http.RoundTripper
	value string
}

func (a authRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", a.value)
	return a.next.RoundTrip(r)
}
