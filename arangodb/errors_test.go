package arangodb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const okNumberOfServers = `{"numberOfDBServers":3,"numberOfCoordinators":2,"error":false,"code":200}`

func TestBasicAuthHeader(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/numberOfServers": reply(200, okNumberOfServers),
	})
	c, err := New(Config{Endpoints: []string{f.URL}, Username: "root", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NumberOfServers(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("root:s3cret"))
	if got := f.requests("GET", "/_admin/cluster/numberOfServers")[0].Auth; got != want {
		t.Fatalf("Authorization %q, want %q", got, want)
	}
}

func TestJWTAuthHeaderIsSignedSuperuserToken(t *testing.T) {
	const secret = "cluster-jwt-secret"
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/numberOfServers": reply(200, okNumberOfServers),
	})
	c, err := New(Config{Endpoints: []string{f.URL}, JWTSecret: secret, Username: "ignored", Password: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NumberOfServers(context.Background()); err != nil {
		t.Fatal(err)
	}
	auth := f.requests("GET", "/_admin/cluster/numberOfServers")[0].Auth
	scheme, token, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "bearer") {
		t.Fatalf("Authorization %q is not a bearer token", auth)
	}
	tok, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return []byte(secret), nil }, jwt.WithValidMethods([]string{"HS256"}))
	if err != nil || !tok.Valid {
		t.Fatalf("token not signed with the secret: %v", err)
	}
	claims := tok.Claims.(jwt.MapClaims)
	if claims["iss"] != "arangodb" || claims["server_id"] != jwtServerID {
		t.Fatalf("claims %v", claims)
	}
}

func TestUnauthorized(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/health": reply(401, `{"error":true,"code":401,"errorNum":11,"errorMessage":"not authorized to execute this request"}`),
		"GET /_admin/cluster/numberOfServers": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized) // no body at all
		},
	})
	c, err := New(Config{Endpoints: []string{f.URL}, Username: "root", Password: "wrong-password"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Health(context.Background())
	var ae *APIError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || ae.ErrorNum != 11 {
		t.Fatalf("health: want ErrUnauthorized with errorNum 11, got %v", err)
	}
	if errors.Is(err, ErrUnavailable) || Temporary(err) {
		t.Fatal("401 must not be retried")
	}
	_, err = c.NumberOfServers(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("numberOfServers: want ErrUnauthorized, got %v", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatal("password in error")
	}
}

func TestServiceUnavailable(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		// A proxy in front of the coordinators answers in HTML.
		"GET /_admin/cluster/health": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("<html><body>503 Service Unavailable</body></html>"))
		},
		"GET /_admin/cluster/numberOfServers": reply(503, `{"error":true,"code":503,"errorNum":503,"errorMessage":"service unavailable"}`),
		"POST /_admin/cluster/cleanOutServer": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("bad gateway"))
		},
	})
	c := f.client(t)
	ctx := context.Background()
	_, err := c.Health(ctx)
	var ae *APIError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &ae) || ae.StatusCode != 503 || !Temporary(err) {
		t.Fatalf("HTML 503: got %v", err)
	}
	if _, err := c.NumberOfServers(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("JSON 503: got %v", err)
	}
	if _, err := c.CleanOutServer(ctx, "PRMR-a"); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("text 502: got %v", err)
	}
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	f := newFake(t, nil)
	url := f.URL
	f.Close()
	c, err := New(Config{Endpoints: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("closed server: got %v", err)
	}
}

// slow blocks until the client gives up (or the test ends).
func slow(done <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

func TestCallerDeadlineHonoured(t *testing.T) {
	done := make(chan struct{})
	f := newFake(t, map[string]http.HandlerFunc{"GET /_admin/cluster/health": slow(done)})
	t.Cleanup(func() { close(done) })
	c, err := New(Config{Endpoints: []string{f.URL}, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Health(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want context.DeadlineExceeded, got %v", err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Fatal("the caller's own deadline is not ArangoDB being unavailable")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("returned after %v", el)
	}
}

func TestConfigTimeoutIsUnavailable(t *testing.T) {
	done := make(chan struct{})
	f := newFake(t, map[string]http.HandlerFunc{"GET /_admin/cluster/health": slow(done)})
	t.Cleanup(func() { close(done) })
	c, err := New(Config{Endpoints: []string{f.URL}, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Health(context.Background())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !Temporary(err) {
		t.Fatalf("want ErrUnavailable wrapping DeadlineExceeded, got %v", err)
	}
}

func TestBadResponseBody(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/numberOfServers": reply(200, `{"numberOfDBServers":"three"}`),
		"GET /_admin/cluster/health":          reply(200, `{"Health": [`),
		"GET /_admin/cluster/queryAgencyJob":  reply(200, `{"error":false,"status":"Exploded","job":"1"}`),
	})
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.NumberOfServers(ctx); !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "numberOfServers") {
		t.Fatalf("numberOfServers: %v", err)
	}
	if _, err := c.Health(ctx); !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "/_admin/cluster/health") {
		t.Fatalf("health: %v", err)
	}
	if _, err := c.Job(ctx, "1"); !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "Exploded") {
		t.Fatalf("job: %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no endpoints", Config{}, "no endpoints"},
		{"bad scheme", Config{Endpoints: []string{"http://a:8529", "ftp://b:8529"}}, `endpoints[1] "ftp://b:8529"`},
		{"no host", Config{Endpoints: []string{"http://"}}, "endpoints[0]"},
		{"mixed tls", Config{Endpoints: []string{"http://a:8529", "https://b:8529"}}, "mixed"},
		{"credentials in URL", Config{Endpoints: []string{"http://root:hunter2@a:8529"}}, "credentials"},
		{"password only", Config{Endpoints: []string{"http://a:8529"}, Password: "x"}, "without username"},
		{"negative timeout", Config{Endpoints: []string{"http://a:8529"}, Timeout: -time.Second}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want ErrInvalidConfig containing %q, got %v", tc.wantErr, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("password in error")
			}
		})
	}
	for _, ep := range []string{"tcp://10.0.0.1:8529", "ssl://coordinator.example:8529", "https://c.example/"} {
		if _, err := New(Config{Endpoints: []string{ep}}); err != nil {
			t.Fatalf("%s rejected: %v", ep, err)
		}
	}
}

func TestFailoverToNextEndpointWhenDialFails(t *testing.T) {
	dead := newFake(t, nil)
	deadURL := dead.URL
	dead.Close()
	live := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/numberOfServers": reply(200, okNumberOfServers),
		"POST /_admin/cluster/cleanOutServer": reply(202, `{"error":false,"code":202,"id":"7"}`),
	})
	c, err := New(Config{Endpoints: []string{deadURL, live.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.NumberOfServers(ctx); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if id, err := c.CleanOutServer(ctx, "PRMR-a"); err != nil || id != "7" {
		t.Fatalf("POST after failover: %q %v", id, err)
	}
	if n := len(live.requests("POST", "/_admin/cluster/cleanOutServer")); n != 1 {
		t.Fatalf("POST sent %d times", n)
	}
}

func TestTLSVerifiedWithGivenRoots(t *testing.T) {
	srv := httptest.NewTLSServer(reply(200, okNumberOfServers))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c, err := New(Config{Endpoints: []string{srv.URL}, TLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NumberOfServers(context.Background()); err != nil {
		t.Fatalf("trusted CA: %v", err)
	}
	c, err = New(Config{Endpoints: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.NumberOfServers(context.Background())
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) || Temporary(err) {
		t.Fatalf("untrusted CA: want a non-temporary certificate error, got %v", err)
	}
}
