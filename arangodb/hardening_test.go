package arangodb

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/redirect"
)

// TestCredentialsNotSentAcrossRedirect: a coordinator address that
// redirects elsewhere (another host, or https → http) never gets basic
// auth or the superuser JWT delivered there.
func TestCredentialsNotSentAcrossRedirect(t *testing.T) {
	var mu sync.Mutex
	var stolen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			stolen = append(stolen, a)
		}
		mu.Unlock()
		writeJSONBody(w, 200, `{"error":false,"code":200,"Health":{}}`)
	}))
	defer other.Close()
	to := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}
	plain := httptest.NewServer(http.HandlerFunc(to))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(to))
	defer secure.Close()
	tlsCfg := secure.Client().Transport.(*http.Transport).TLSClientConfig
	for name, cfg := range map[string]Config{
		"basic cross-host":    {Endpoints: []string{plain.URL}, Username: "root", Password: "pw"},
		"jwt cross-host":      {Endpoints: []string{plain.URL}, JWTSecret: "s3cret"},
		"basic https to http": {Endpoints: []string{secure.URL}, Username: "root", Password: "pw", TLS: tlsCfg},
		"jwt https to http":   {Endpoints: []string{secure.URL}, JWTSecret: "s3cret", TLS: tlsCfg},
	} {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Health(context.Background()); !errors.Is(err, redirect.ErrRefused) {
			t.Errorf("%s: %v, want redirect.ErrRefused", name, err)
		}
		var n int
		if err := c.call(context.Background(), http.MethodGet, "_admin/cluster/numberOfServers", nil, &struct{}{}); err == nil {
			t.Errorf("%s: raw call through a foreign redirect succeeded", name)
		}
		mu.Lock()
		n = len(stolen)
		mu.Unlock()
		if n != 0 {
			t.Fatalf("%s: credentials reached the other host: %q", name, stolen)
		}
	}
}

// TestSuperuserJWTExpiresAndIsRenewed: the JWT carries exp = now + 1h
// from the injected clock and is replaced before it runs out.
func TestSuperuserJWTExpiresAndIsRenewed(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := newFake(t, map[string]http.HandlerFunc{
		"/_admin/cluster/health": reply(200, `{"error":false,"code":200,"Health":{}}`),
	})
	c, err := New(Config{Endpoints: []string{f.URL}, JWTSecret: "s3cret", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	claimsOf := func(i int) jwt.MapClaims {
		t.Helper()
		reqs := f.requests(http.MethodGet, "/_admin/cluster/health")
		tok, ok := strings.CutPrefix(reqs[i].Auth, "bearer ")
		if !ok {
			t.Fatalf("Authorization %q is no bearer JWT", reqs[i].Auth)
		}
		claims := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte("s3cret"), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(clk.Now), jwt.WithExpirationRequired()); err != nil {
			t.Fatalf("JWT of request %d: %v", i, err)
		}
		return claims
	}
	ctx := context.Background()
	if _, err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	c0 := claimsOf(0)
	if exp, _ := c0.GetExpirationTime(); exp == nil || !exp.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("exp %v, want %v", exp, clk.Now().Add(time.Hour))
	}
	if c0["iss"] != "arangodb" || c0["server_id"] != jwtServerID {
		t.Fatalf("claims %v", c0)
	}
	clk.Advance(55 * time.Minute) // within the renewal margin
	if _, err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if exp, _ := claimsOf(1).GetExpirationTime(); exp == nil || !exp.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("not renewed before expiry: exp %v at %v", exp, clk.Now())
	}
}

// TestSuccessBodyIsBounded: a 2xx body past the limit is an error naming
// the call, not an unbounded read.
func TestSuccessBodyIsBounded(t *testing.T) {
	huge := `{"error":false,"code":200,"Health":{},"x":"` + strings.Repeat("a", maxBody) + `"}`
	f := newFake(t, map[string]http.HandlerFunc{
		"/_admin/cluster/health":          reply(200, huge),
		"/_admin/cluster/numberOfServers": reply(200, huge),
	})
	// Reading 32 MiB under the race detector on a shared machine is slow.
	c, err := New(Config{Endpoints: []string{f.URL}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Health(context.Background())
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "GET /_admin/cluster/health") || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("driver call with a huge body: %v", err)
	}
	_, err = c.NumberOfServers(context.Background())
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "numberOfServers") || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("raw call with a huge body: %v", err)
	}
}

// TestRedirectIsAnErrorNotACrash: even a redirect within the coordinator
// is refused: go-driver cannot resend the request (following it panics).
func TestRedirectIsAnErrorNotACrash(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"/_admin/cluster/health": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/x/_admin/cluster/health", http.StatusTemporaryRedirect)
		},
	})
	c := f.client(t)
	if _, err := c.Health(context.Background()); !errors.Is(err, redirect.ErrRefused) || !strings.Contains(err.Error(), "GET /_admin/cluster/health") {
		t.Fatalf("same-host redirect: %v", err)
	}
}
