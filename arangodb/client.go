package arangodb

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	driver "github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/connection"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/redirect"
)

// DefaultTimeout bounds each HTTP request when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// jwtServerID is the server_id claim of the superuser JWT we sign; ArangoDB
// shows it in its logs, so it names us.
const jwtServerID = "arangoscale"

// Config says how to reach one cluster's coordinators.
type Config struct {
	// Endpoints are coordinator URLs: http://, https://, or ArangoDB's own
	// tcp:// and ssl:// spellings. Requests rotate over them.
	Endpoints []string
	// Username and Password for HTTP basic authentication.
	Username, Password string
	// JWTSecret, when set, is the cluster's JWT secret; every request then
	// carries a superuser JWT signed with it (go-driver/v2/utils/jwt), and
	// Username/Password are not used. Needed for agency reads.
	JWTSecret string
	// TLS configures https endpoints; nil means the system roots. It is
	// never used to skip verification on our behalf.
	TLS *tls.Config
	// Timeout bounds each HTTP request; 0 means DefaultTimeout. A method
	// that makes several requests (Shards) applies it to each one; the
	// caller's context bounds the whole call.
	Timeout time.Duration
	// Clock dates the JWTs (exp, iat); nil means the real clock.
	Clock clock.Clock
	// Transport, when set, carries every request instead of the transport
	// New builds (TLS is then the transport's business): simulations serve
	// the requests in process.
	Transport http.RoundTripper
}

// Client talks to one ArangoDB cluster. It is safe for concurrent use.
type Client struct {
	conn      connection.Connection
	drv       driver.Client
	timeout   time.Duration
	endpoints int
	clk       clock.Clock

	// props are the collection properties ShardsFor read, by database and
	// collection name, for reuse within its maxAge.
	propsMu sync.Mutex
	props   map[string]collectionProps
}

// New checks cfg and builds a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: no endpoints", ErrInvalidConfig)
	}
	eps := make([]string, 0, len(cfg.Endpoints))
	for i, raw := range cfg.Endpoints {
		ep, err := normalizeEndpoint(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: endpoints[%d] %q: %s", ErrInvalidConfig, i, redact(raw), err)
		}
		eps = append(eps, ep)
	}
	if err := connection.ValidateEndpointSchemes(connection.NewRoundRobinEndpoints(eps)); err != nil {
		return nil, fmt.Errorf("%w: endpoints: %s", ErrInvalidConfig, err)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative timeout %s", ErrInvalidConfig, cfg.Timeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}

	var auth connection.Authentication
	switch {
	case cfg.JWTSecret != "":
		j, err := NewSuperuserJWT(cfg.JWTSecret, jwtServerID, cfg.Clock)
		if err == nil {
			_, err = j.Header() // fail here, not on the first request
		}
		if err != nil {
			return nil, fmt.Errorf("%w: cannot sign JWT from the secret", ErrInvalidConfig)
		}
		auth = j
	case cfg.Username != "":
		auth = connection.NewBasicAuth(cfg.Username, cfg.Password)
	case cfg.Password != "":
		return nil, fmt.Errorf("%w: password given without username", ErrInvalidConfig)
	}

	var tlsCfg *tls.Config
	if cfg.TLS != nil {
		tlsCfg = cfg.TLS.Clone()
	}
	var transport http.RoundTripper = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   timeout,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // the per-request context deadline rules
	}
	if cfg.Transport != nil {
		transport = cfg.Transport
	}
	conn := connection.NewHttpConnection(connection.HttpConfiguration{
		Endpoint:       connection.NewRoundRobinEndpoints(eps),
		ContentType:    connection.ApplicationJSON,
		Transport:      jsonErrorTransport{next: transport},
		Authentication: auth,
	})
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &Client{conn: conn, drv: driver.NewClient(conn), timeout: timeout, endpoints: len(eps), clk: clk,
		props: map[string]collectionProps{}}, nil
}

// normalizeEndpoint accepts http(s):// and ArangoDB's tcp:// / ssl://.
func normalizeEndpoint(raw string) (string, error) {
	ep := connection.FixupEndpointURLScheme(strings.TrimSpace(raw))
	u, err := url.Parse(ep)
	if err != nil {
		return "", fmt.Errorf("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme must be http, https, tcp or ssl")
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("no host")
	}
	if u.User != nil {
		return "", fmt.Errorf("credentials belong in Username/Password, not the URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("no query or fragment allowed")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// redact hides a password in a URL that carries one.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}

// do runs f with the per-request timeout and classifies its error. The
// connection rotates over the endpoints on every request; when a
// coordinator cannot even be dialled, the request never left, so it is
// safe to try the next one at once, whatever the method.
func (c *Client) do(ctx context.Context, op string, f func(ctx context.Context) error) error {
	var err error
	for attempt := 0; attempt < c.endpoints; attempt++ {
		err = c.once(ctx, f)
		if err == nil || !isDialError(err) || ctx.Err() != nil {
			break
		}
	}
	return classify(ctx, op, err)
}

func (c *Client) once(ctx context.Context, f func(ctx context.Context) error) error {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return f(rctx)
}

// isDialError: the connection could not be opened, nothing was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// call is a raw JSON request on the driver's connection for endpoints the
// driver lacks, and for the reads of every interval (health, rebalance)
// whose typed driver answers cost more to decode than the rest of the
// request: the body is streamed and decoded once, with go-json-experiment
// (the encoding/json/v2 design), into only the fields we use. out receives
// the body of a 2xx answer; any other status becomes an *APIError built
// from ArangoDB's error body.
func (c *Client) call(ctx context.Context, method, path string, body, out any, query ...string) error {
	op := method + " /" + path
	return c.do(ctx, op, func(ctx context.Context) error {
		mods := make([]connection.RequestModifier, 0, 2)
		for i := 0; i+1 < len(query); i += 2 {
			mods = append(mods, connection.WithQuery(query[i], query[i+1]))
		}
		if body != nil {
			mods = append(mods, connection.WithBody(body))
		}
		resp, rc, err := connection.CallStream(ctx, c.conn, method, path, mods...)
		if err != nil {
			return err
		}
		var raw []byte
		if rc != nil {
			// limitedBody (jsonErrorTransport) bounds a success body.
			raw, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
		}
		code := resp.Code()
		if code < 200 || code > 299 {
			var r errorBody
			_ = jsonv2.Unmarshal(raw, &r, decodeOptions)
			return apiError(op, code, &r)
		}
		if out == nil || len(bytes.TrimSpace(raw)) == 0 {
			if out != nil {
				return badResponse(op, "empty body")
			}
			return nil
		}
		if err := jsonv2.Unmarshal(raw, out, decodeOptions); err != nil {
			return badResponse(op, "%v", err)
		}
		return nil
	})
}

// decodeOptions make go-json-experiment/json accept what encoding/json
// (the driver's decoder) did: names matched regardless of case, a repeated
// name's last value, invalid UTF-8 replaced.
var decodeOptions = jsonv2.JoinOptions(jsonv2.MatchCaseInsensitiveNames(true),
	jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// maxBody bounds a success body: the largest real answers (shard
// distribution or the agency plan of a cluster with thousands of
// collections, a coordinator's metrics) are a few MB.
const maxBody = 32 << 20

// errBodyTooLarge fails the read of a success body past maxBody; classify
// names the call it happened in.
var errBodyTooLarge = fmt.Errorf("response body larger than %d bytes", maxBody)

// limitedBody reads at most left bytes and then fails, instead of quietly
// truncating (which would decode as garbled JSON) or reading forever.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly maxBody from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// jsonErrorTransport makes every error answer carry an ArangoDB-style JSON
// body. Proxies and load balancers in front of coordinators (Marathon-LB,
// DC/OS Admin Router) answer 502/503/504 with HTML or plain text, on which
// the driver's JSON decoding fails and the status code would be lost.
type jsonErrorTransport struct{ next http.RoundTripper }

func (t jsonErrorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		// Never followed: Go would resend the credentials to another
		// host, or from https to http, and go-driver cannot replay a
		// request body (following a 307 panics in the driver). A cluster
		// coordinator answers itself.
		resp.Body.Close()
		return nil, fmt.Errorf("%w: coordinator answered %d to %s", redirect.ErrRefused, resp.StatusCode, req.URL.Redacted())
	}
	if resp.StatusCode < 400 {
		resp.Body = &limitedBody{rc: resp.Body, left: maxBody}
		return resp, nil
	}
	if resp.Header.Get("Content-Encoding") != "" {
		return resp, nil
	}
	const limit = 1 << 20
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, limit))
	resp.Body.Close()
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if rerr == nil && mt == "application/json" && json.Valid(body) {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	msg := http.StatusText(resp.StatusCode)
	if mt != "" {
		msg += " (" + mt + " body)"
	}
	replaced, _ := json.Marshal(map[string]any{
		"error": true, "code": resp.StatusCode, "errorNum": resp.StatusCode, "errorMessage": msg,
	})
	resp.Body = io.NopCloser(bytes.NewReader(replaced))
	resp.ContentLength = int64(len(replaced))
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Del("Content-Length")
	return resp, nil
}
