package reload

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/arangoscale/arangoscale/redirect"
)

// bearer adds a credential on every request, as an authenticating
// transport given in Options.Client would.
type bearer struct{ next http.RoundTripper }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer policy-secret")
	return b.next.RoundTrip(r)
}

func TestPolicyURLRedirectKeepsCredentialsHome(t *testing.T) {
	var stolen atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			stolen.Add(1)
		}
		_, _ = w.Write([]byte("clusters: []\n"))
	}))
	defer other.Close()
	to := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/policy.yaml", http.StatusTemporaryRedirect)
	}
	plain := httptest.NewServer(http.HandlerFunc(to))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(to))
	defer secure.Close()
	for name, c := range map[string]struct {
		url string
		rt  http.RoundTripper
	}{
		"cross-host":    {plain.URL + "/policy.yaml", http.DefaultTransport},
		"https to http": {secure.URL + "/policy.yaml", secure.Client().Transport},
	} {
		r, err := New(c.url, (&counting{}).load, Options{Client: &http.Client{Transport: bearer{c.rt}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Reload(context.Background()); !errors.Is(err, redirect.ErrRefused) || !errors.Is(err, ErrSource) {
			t.Errorf("%s: %v, want a source error wrapping redirect.ErrRefused", name, err)
		}
	}
	if n := stolen.Load(); n != 0 {
		t.Fatalf("the policy URL's credential reached another host %d times", n)
	}
}
