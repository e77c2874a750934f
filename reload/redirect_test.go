package reload

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arangoscale/arangoscale/redirect"
	"github.com/arangoscale/arangoscale/redirect/redirecttest"
)

func TestPolicyURLRedirectKeepsCredentialsHome(t *testing.T) {
	// An authenticating transport given in Options.Client adds the credential.
	other := redirecttest.NewForeign(t, "", "clusters: []\n")
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
		r, err := New(c.url, (&counting{}).load, Options{Client: &http.Client{Transport: redirecttest.WithAuth(c.rt, "Bearer policy-secret")}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Reload(context.Background()); !errors.Is(err, redirect.ErrRefused) || !errors.Is(err, ErrSource) {
			t.Errorf("%s: %v, want a source error wrapping redirect.ErrRefused", name, err)
		}
	}
	if n := other.Stolen(); n != 0 {
		t.Fatalf("the policy URL's credential reached another host %d times", n)
	}
}
