package marathon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/redirect"
)

// thief is another host a redirect points to; it records every
// Authorization header and body it is sent.
type thief struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []string
	hits int
}

func newThief(t *testing.T) *thief {
	th := &thief{}
	th.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		th.mu.Lock()
		th.hits++
		th.got = append(th.got, r.Header.Get("Authorization"), string(b))
		th.mu.Unlock()
		w.Write([]byte(`{"queue":[],"token":"x"}`))
	}))
	t.Cleanup(th.srv.Close)
	return th
}

func (th *thief) leaked(secret string) bool {
	th.mu.Lock()
	defer th.mu.Unlock()
	for _, s := range th.got {
		if strings.Contains(s, secret) {
			return true
		}
	}
	return false
}

// redirector answers every request with a 307 to target + the same path.
func redirector(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
}

func TestTokenNotSentAcrossRedirect(t *testing.T) {
	th := newThief(t)
	plain := httptest.NewServer(redirector(th.srv.URL))
	t.Cleanup(plain.Close)
	// https → http on the same host: the token would travel in clear.
	secure := httptest.NewTLSServer(redirector(th.srv.URL))
	t.Cleanup(secure.Close)
	for name, cfg := range map[string]Config{
		"cross-host":    {URL: plain.URL},
		"https to http": {URL: secure.URL, HTTPClient: secure.Client()},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Auth = StaticToken("dcos-secret-token")
			cfg.Timeout = 2 * time.Second
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Queue(context.Background())
			if _, serr := c.Scale(context.Background(), "/a", 3, false); serr == nil {
				t.Error("scale through a foreign redirect succeeded")
			}
			if th.leaked("dcos-secret-token") {
				t.Fatal("the DC/OS token was sent to the host a redirect named")
			}
			if err == nil || !errors.Is(err, redirect.ErrRefused) {
				t.Fatalf("queue through a foreign redirect: %v, want redirect.ErrRefused", err)
			}
		})
	}
}

func TestServiceAccountLoginNotRedirected(t *testing.T) {
	th := newThief(t)
	login := httptest.NewServer(redirector(th.srv.URL))
	t.Cleanup(login.Close)
	clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	acc := serviceAccountJSON(t, rsaKey(t), "arangoscale", login.URL+"/acs/api/v1/auth/login")
	ts, err := NewServiceAccount(acc, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(context.Background()); err == nil {
		t.Fatal("login through a redirect to another host succeeded")
	}
	th.mu.Lock()
	hits := th.hits
	th.mu.Unlock()
	if hits != 0 {
		t.Fatalf("the login JWT was posted to the host a redirect named (%d requests)", hits)
	}
}
