package marathon

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/golang-jwt/jwt/v5"
)

func TestStaticTokenHeader(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.Write([]byte(`{"queue":[]}`))
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Auth: StaticToken("  abc.def.ghi\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Queue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got != "token=abc.def.ghi" {
		t.Errorf("Authorization = %q", got)
	}
}

// A refused static token is not retried with the same token, and the
// token is not in the error.
func TestStaticTokenRefused(t *testing.T) {
	const secret = "static-secret-token"
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"title":"Invalid authentication credentials","description":"Token ` + r.Header.Get("Authorization") + ` is invalid"}`))
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Auth: StaticToken(secret)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Scale(context.Background(), "/a", 1, false)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if hits.Load() != 1 {
		t.Errorf("requests = %d, want 1", hits.Load())
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("token in error: %v", err)
	}
	if _, err := StaticToken(" \n").Token(context.Background()); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("empty token: %v", err)
	}
}

// fakeDCOS is an ACS login endpoint plus a Marathon that accepts only the
// most recently issued token.
type fakeDCOS struct {
	t        *testing.T
	pub      *rsa.PublicKey
	uid      string
	clk      clock.Clock
	logins   atomic.Int32
	requests atomic.Int32
	gate     chan struct{} // if set, logins wait for it

	mu      sync.Mutex
	current string
	refuse  bool // refuse every token
	issued  []string
}

func (f *fakeDCOS) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /acs/api/v1/auth/login", func(w http.ResponseWriter, r *http.Request) {
		if f.gate != nil {
			<-f.gate
		}
		var body struct{ UID, Token string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(body.Token, claims, func(*jwt.Token) (any, error) { return f.pub, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(f.clk.Now))
		if err != nil || body.UID != f.uid || claims["uid"] != f.uid {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"code":"ERR_INVALID_SERVICE_LOGIN_TOKEN","title":"Invalid login token","description":"` + body.Token + `"}`))
			return
		}
		n := f.logins.Add(1)
		tok := fmt.Sprintf("acs-token-%d", n)
		f.mu.Lock()
		f.current = tok
		f.issued = append(f.issued, tok)
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mu.Lock()
		ok := !f.refuse && f.current != "" && r.Header.Get("Authorization") == "token="+f.current
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"invalid token ` + r.Header.Get("Authorization") + `"}`))
			return
		}
		switch r.URL.Path {
		case "/v2/queue":
			w.Write([]byte(`{"queue":[]}`))
		case "/v2/apps/a":
			w.Write([]byte(`{"deploymentId":"d","version":"v"}`))
		default:
			http.NotFound(w, r)
		}
	})
	return mux
}

func (f *fakeDCOS) rotate() {
	f.mu.Lock()
	f.current = "rotated-away"
	f.mu.Unlock()
}

func serviceAccountJSON(t testing.TB, key *rsa.PrivateKey, uid, endpoint string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	b, err := json.Marshal(map[string]string{"login_endpoint": endpoint, "private_key": string(pemKey), "scheme": "RS256", "uid": uid})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

func rsaKey(t testing.TB) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		testKey = k
	})
	return testKey
}

func newFakeDCOS(t *testing.T, clk clock.Clock) (*fakeDCOS, *httptest.Server, TokenSource) {
	key := rsaKey(t)
	f := &fakeDCOS{t: t, pub: &key.PublicKey, uid: "arangoscale", clk: clk}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	// The JSON names an unreachable endpoint; the option points at ours.
	acc := serviceAccountJSON(t, key, "arangoscale", "https://leader.mesos/acs/api/v1/auth/login")
	ts, err := NewServiceAccount(acc, srv.Client(), clk, WithLoginURL(srv.URL+"/acs/api/v1/auth/login"))
	if err != nil {
		t.Fatal(err)
	}
	return f, srv, ts
}

func TestServiceAccountLoginAndReloginOn401(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, srv, ts := newFakeDCOS(t, clk)
	c, err := New(Config{URL: srv.URL, Auth: ts})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Queue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Queue(ctx); err != nil {
		t.Fatal(err)
	}
	if f.logins.Load() != 1 || f.requests.Load() != 2 {
		t.Fatalf("logins %d requests %d, want 1 and 2", f.logins.Load(), f.requests.Load())
	}
	// The token expires server-side: one 401, one re-login, one resend
	// (a PUT, so the body is replayed).
	f.rotate()
	if dep, err := c.Scale(ctx, "/a", 3, false); err != nil || dep != "d" {
		t.Fatalf("scale after rotation: %q %v", dep, err)
	}
	if f.logins.Load() != 2 || f.requests.Load() != 4 {
		t.Errorf("logins %d requests %d, want 2 and 4", f.logins.Load(), f.requests.Load())
	}
}

func TestServiceAccountReloginExactlyOnce(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, srv, ts := newFakeDCOS(t, clk)
	f.refuse = true
	c, err := New(Config{URL: srv.URL, Auth: ts})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Queue(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if f.logins.Load() != 2 || f.requests.Load() != 2 {
		t.Errorf("logins %d requests %d, want 2 and 2", f.logins.Load(), f.requests.Load())
	}
	f.mu.Lock()
	issued := f.issued
	f.mu.Unlock()
	for _, tok := range issued {
		if strings.Contains(err.Error(), tok) {
			t.Errorf("token %q in error %q", tok, err)
		}
	}
}

func TestServiceAccountConcurrentCallersShareOneLogin(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, _, ts := newFakeDCOS(t, clk)
	f.gate = make(chan struct{})
	const n = 16
	var wg sync.WaitGroup
	toks := make([]string, n)
	errs := make([]error, n)
	started := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			toks[i], errs[i] = ts.Token(context.Background())
		}()
	}
	for i := 0; i < n; i++ {
		<-started
	}
	close(f.gate)
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil || toks[i] != "acs-token-1" {
			t.Errorf("caller %d: %q %v", i, toks[i], errs[i])
		}
	}
	if f.logins.Load() != 1 {
		t.Errorf("logins = %d, want 1", f.logins.Load())
	}
	// Several 401s for the same stale token cause one login, not one each.
	f.gate = nil
	for i := 0; i < n; i++ {
		ts.(tokenInvalidator).invalidateToken("acs-token-1")
		if tok, err := ts.Token(context.Background()); err != nil || tok != "acs-token-2" {
			t.Fatalf("after invalidate: %q %v", tok, err)
		}
	}
	if f.logins.Load() != 2 {
		t.Errorf("logins = %d, want 2", f.logins.Load())
	}
}

func TestServiceAccountRefreshesBeforeExpiry(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	var logins atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := logins.Add(1)
		// DC/OS tokens are JWTs with an exp; ours need not verify.
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"uid": "u", "exp": clk.Now().Add(time.Hour).Unix(), "n": n}).SignedString([]byte("k"))
		json.NewEncoder(w).Encode(map[string]string{"token": tok})
	}))
	defer srv.Close()
	ts, err := NewServiceAccount(serviceAccountJSON(t, rsaKey(t), "u", srv.URL), srv.Client(), clk)
	if err != nil {
		t.Fatal(err)
	}
	t1, err := ts.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(50 * time.Minute)
	if t2, _ := ts.Token(context.Background()); t2 != t1 || logins.Load() != 1 {
		t.Errorf("refreshed too early (logins %d)", logins.Load())
	}
	clk.Advance(9*time.Minute + 30*time.Second)
	if t3, _ := ts.Token(context.Background()); t3 == t1 || logins.Load() != 2 {
		t.Errorf("not refreshed near exp (logins %d)", logins.Load())
	}
}

func TestServiceAccountLoginRefused(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDCOS{t: t, pub: &other.PublicKey, uid: "arangoscale", clk: clk}
	srv := httptest.NewServer(f.handler())
	defer srv.Close()
	acc := serviceAccountJSON(t, rsaKey(t), "arangoscale", srv.URL+"/acs/api/v1/auth/login")
	ts, err := NewServiceAccount(acc, srv.Client(), clk)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: srv.URL, Auth: ts})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Queue(context.Background())
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "ERR_INVALID_SERVICE_LOGIN_TOKEN") {
		t.Fatalf("err = %v", err)
	}
	if f.requests.Load() != 0 {
		t.Errorf("Marathon got %d requests without a token", f.requests.Load())
	}
	// Neither the login JWT (echoed in the IAM description) nor the key.
	if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("secret in error: %v", err)
	}
}

func TestNewServiceAccountBadInput(t *testing.T) {
	key := rsaKey(t)
	good := serviceAccountJSON(t, key, "u", "https://dcos/acs/api/v1/auth/login")
	var m map[string]string
	json.Unmarshal(good, &m)
	mutate := func(k, v string) []byte {
		c := map[string]string{}
		for kk, vv := range m {
			c[kk] = vv
		}
		c[k] = v
		b, _ := json.Marshal(c)
		return b
	}
	cases := map[string][]byte{
		"not json":      []byte("{uid"),
		"no uid":        mutate("uid", ""),
		"bad scheme":    mutate("scheme", "HS256"),
		"bad key":       mutate("private_key", "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n"),
		"bad endpoint":  mutate("login_endpoint", "leader.mesos/acs"),
		"trailing data": append(append([]byte{}, good...), '}'),
	}
	for name, b := range cases {
		_, err := NewServiceAccount(b, nil, nil)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
			continue
		}
		if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "BEGIN") {
			t.Errorf("%s: key material in error: %v", name, err)
		}
	}
	if _, err := NewServiceAccount(good, nil, nil); err != nil {
		t.Errorf("good account: %v", err)
	}
}
