package redirect

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/arangoscale/arangoscale/redirect/redirecttest"
)

func TestAllowed(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"http://a:8080/x", "http://a:8080/y", true},
		{"http://a/x", "http://A:80/y", true},
		{"http://a:8080/x", "https://a:8443/y", true}, // upgrade on the same host
		{"http://a:8080/x", "http://a:9090/y", false}, // another port is another server
		{"http://a/x", "http://b/x", false},
		{"https://a/x", "http://a/x", false},
		{"https://a/x", "https://b/x", false},
		{"http://a/x", "https://b/x", false},
		{"https://a/x", "ftp://a/x", false},
	} {
		from, _ := url.Parse(c.from)
		to, _ := url.Parse(c.to)
		err := Allowed(from, to)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrRefused)) {
			t.Errorf("%s → %s: %v, want ok=%v", c.from, c.to, err, c.ok)
		}
	}
}

func TestGuardKeepsCredentialsHome(t *testing.T) {
	other := redirecttest.NewForeign(t, "", "")
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/done", http.StatusTemporaryRedirect)
			return
		}
		if r.URL.Path == "/done" {
			return
		}
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer home.Close()
	for name, c := range map[string]*http.Client{
		"Guard": Guard(&http.Client{Transport: redirecttest.WithAuth(http.DefaultTransport, "token=secret")}),
	} {
		resp, err := c.Get(home.URL + "/x")
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: cross-host redirect: %v, want ErrRefused", name, err)
		}
		resp, err = c.Get(home.URL + "/same")
		if err != nil || resp.Request.URL.Path != "/done" {
			t.Errorf("%s: same-host redirect not followed: %v", name, err)
		}
		if err == nil {
			resp.Body.Close()
		}
	}
	if n := other.Stolen(); n != 0 {
		t.Fatalf("credentials reached the other host %d times", n)
	}
}
