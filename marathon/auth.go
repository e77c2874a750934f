package marathon

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/redirect"
	"github.com/golang-jwt/jwt/v5"
)

// TokenSource hands out the DC/OS ACS token sent with every request.
// Implementations are safe for concurrent use.
type TokenSource interface {
	// Token returns a current token, logging in first if needed.
	Token(ctx context.Context) (string, error)
	// Invalidate drops the cached token (it was refused with 401).
	Invalidate()
}

// tokenInvalidator is the optional, race-free form of Invalidate: drop the
// cached token only if it is still the refused one, so that several
// requests refused with the same stale token cause one login, not many.
type tokenInvalidator interface {
	invalidateToken(stale string)
}

type staticToken string

// StaticToken returns a TokenSource for a ready ACS token (e.g. the
// content of DCOS_TOKEN_FILE; surrounding whitespace is dropped). It never
// refreshes: a 401 is returned to the caller as ErrUnauthorized.
func StaticToken(token string) TokenSource { return staticToken(strings.TrimSpace(token)) }

func (s staticToken) Token(context.Context) (string, error) {
	if s == "" {
		return "", fmt.Errorf("dcos token: %w: empty", ErrUnauthorized)
	}
	return string(s), nil
}

func (staticToken) Invalidate() {}

// ServiceAccountOption adjusts NewServiceAccount.
type ServiceAccountOption func(*serviceAccount)

// WithLoginURL overrides the login endpoint named in the account JSON
// (tests, or a DC/OS reached through another address).
func WithLoginURL(u string) ServiceAccountOption {
	return func(s *serviceAccount) { s.loginURL = u }
}

const (
	// loginJWTLifetime is how long the self-signed login JWT is valid;
	// it is used once, right away.
	loginJWTLifetime = 5 * time.Minute
	// refreshMargin: a token this close to its exp is renewed before use.
	refreshMargin = time.Minute
	// loginTimeout bounds one login; it runs detached from the caller
	// that started it because other callers wait for it too.
	loginTimeout = 30 * time.Second
)

type serviceAccount struct {
	uid      string
	key      *rsa.PrivateKey
	loginURL string
	hc       *http.Client
	clk      clock.Clock

	mu       sync.Mutex
	token    string
	expires  time.Time // zero: unknown, keep until refused
	inflight *login
}

type login struct {
	done  chan struct{}
	token string
	err   error
}

// NewServiceAccount returns a TokenSource that logs in to DC/OS with a
// service account: the account JSON (DCOS_SERVICE_ACCOUNT_FILE) is
// {"uid", "private_key" (PEM, PKCS#1 or PKCS#8), "scheme": "RS256",
// "login_endpoint"}. Login POSTs {"uid", "token": <RS256 JWT {uid, exp}>}
// to the login endpoint and gets {"token"}. The token is cached until
// refused (Invalidate) or close to its own exp; concurrent callers share
// one login. httpClient nil: a default client; clk nil: the real clock.
func NewServiceAccount(accountJSON []byte, httpClient *http.Client, clk clock.Clock, opts ...ServiceAccountOption) (TokenSource, error) {
	var acc struct {
		UID           string `json:"uid"`
		PrivateKey    string `json:"private_key"`
		Scheme        string `json:"scheme"`
		LoginEndpoint string `json:"login_endpoint"`
	}
	if err := strictTop(accountJSON, &acc); err != nil {
		// strictTop's errors quote no input values, only offsets and
		// field names, so the key cannot leak through them.
		return nil, fmt.Errorf("dcos service account: %w: %w", ErrInvalid, err)
	}
	if acc.UID == "" {
		return nil, fmt.Errorf("dcos service account: %w: uid is empty", ErrInvalid)
	}
	if acc.Scheme != "" && acc.Scheme != "RS256" {
		return nil, fmt.Errorf("dcos service account %q: %w: scheme %q, only RS256 is supported", acc.UID, ErrInvalid, acc.Scheme)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(acc.PrivateKey))
	if err != nil {
		// Not wrapped: keep whatever the parser says away from logs.
		return nil, fmt.Errorf("dcos service account %q: %w: private_key is not a PEM RSA key (PKCS#1 or PKCS#8)", acc.UID, ErrInvalid)
	}
	s := &serviceAccount{uid: acc.UID, key: key, loginURL: acc.LoginEndpoint, hc: httpClient, clk: clk}
	for _, o := range opts {
		o(s)
	}
	u, err := url.Parse(s.loginURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("dcos service account %q: %w: login_endpoint %q is not an http(s) URL", acc.UID, ErrInvalid, s.loginURL)
	}
	// A 307 keeps the POST body, and with it the login JWT: never to
	// another host.
	s.hc = redirect.Guard(s.hc)
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	return s, nil
}

func (s *serviceAccount) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.token != "" && (s.expires.IsZero() || s.clk.Now().Before(s.expires.Add(-refreshMargin))) {
		t := s.token
		s.mu.Unlock()
		return t, nil
	}
	l := s.inflight
	if l == nil {
		l = &login{done: make(chan struct{})}
		s.inflight = l
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loginTimeout)
		go func() {
			defer cancel()
			tok, exp, err := s.login(lctx)
			s.mu.Lock()
			if err == nil {
				s.token, s.expires = tok, exp
			}
			s.inflight = nil
			s.mu.Unlock()
			l.token, l.err = tok, err
			close(l.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-l.done:
		return l.token, l.err
	case <-ctx.Done():
		return "", fmt.Errorf("dcos login: %w", ctx.Err())
	}
}

func (s *serviceAccount) Invalidate() {
	s.mu.Lock()
	s.token = ""
	s.mu.Unlock()
}

func (s *serviceAccount) invalidateToken(stale string) {
	s.mu.Lock()
	if s.token == stale {
		s.token = ""
	}
	s.mu.Unlock()
}

// login performs one DC/OS login and returns the token and its exp (zero
// if the token carries none).
func (s *serviceAccount) login(ctx context.Context) (string, time.Time, error) {
	claims := jwt.MapClaims{"uid": s.uid, "exp": s.clk.Now().Add(loginJWTLifetime).Unix()}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("dcos login as %q: signing the login JWT failed", s.uid)
	}
	body, err := json.Marshal(map[string]string{"uid": s.uid, "token": signed})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("dcos login as %q: %w", s.uid, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.loginURL, bytes.NewReader(body))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("dcos login as %q: %w: %w", s.uid, ErrInvalid, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("dcos login as %q: %w: %w", s.uid, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("dcos login as %q: %w: reading the answer: %w", s.uid, ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		// DC/OS IAM errors are {"code", "title", "description"}; only code
		// and title are repeated, they carry no request data.
		var ie struct {
			Code  string `json:"code"`
			Title string `json:"title"`
		}
		detail := ""
		if json.Unmarshal(rb, &ie) == nil && (ie.Code != "" || ie.Title != "") {
			detail = shorten(": " + strings.TrimSpace(ie.Code+" "+ie.Title))
		}
		kind := ErrUnavailable
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			kind = ErrUnauthorized
		case resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
			kind = ErrBadResponse
		}
		return "", time.Time{}, fmt.Errorf("dcos login as %q: HTTP %d%s: %w", s.uid, resp.StatusCode, detail, kind)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := strictTop(rb, &out); err != nil || out.Token == "" {
		return "", time.Time{}, fmt.Errorf("dcos login as %q: %w: no token in the answer", s.uid, ErrBadResponse)
	}
	var exp time.Time
	var tc jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(out.Token, &tc); err == nil && tc.ExpiresAt != nil {
		exp = tc.ExpiresAt.Time
	}
	return out.Token, exp, nil
}

type authTransport struct {
	base http.RoundTripper
	ts   TokenSource
}

// NewAuthTransport returns a RoundTripper that sends
// "Authorization: token=<token>" from ts on every request. On a 401 it
// invalidates the token, gets a new one and resends the request once
// (when its body can be replayed and the token changed). base nil means
// http.DefaultTransport.
func NewAuthTransport(base http.RoundTripper, ts TokenSource) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &authTransport{base: base, ts: ts}
}

func withToken(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "token="+tok)
	return r
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.ts.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(withToken(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return redact(resp, tok), err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		return resp, nil
	}
	if inv, ok := t.ts.(tokenInvalidator); ok {
		inv.invalidateToken(tok)
	} else {
		t.ts.Invalidate()
	}
	fresh, err := t.ts.Token(req.Context())
	if err != nil {
		drain(resp)
		return nil, err
	}
	if fresh == tok {
		return redact(resp, tok), nil // nothing new to try (a static token)
	}
	retry := withToken(req, fresh)
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			drain(resp)
			return nil, fmt.Errorf("marathon auth: replaying the request body: %w", err)
		}
		retry.Body = b
	}
	drain(resp)
	resp, err = t.base.RoundTrip(retry)
	return redact(resp, fresh), err
}

// redact removes the token from the body of an error answer (some
// proxies echo the credentials they refuse), so it cannot reach an error
// message. Success bodies pass untouched.
func redact(resp *http.Response, tok string) *http.Response {
	if resp == nil || resp.StatusCode < 300 || tok == "" {
		return resp
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if err != nil {
		b = nil
	}
	b = bytes.ReplaceAll(b, []byte(tok), []byte("<redacted>"))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp
}

// drain reads a little of a discarded answer so its connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}
