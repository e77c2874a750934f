package marathon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gm "github.com/gambol99/go-marathon"

	"github.com/arangoscale/arangoscale/redirect"
)

// DefaultTimeout bounds one call when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// maxBody bounds a response body we read (an app with thousands of tasks
// is a few MB).
const maxBody = 32 << 20

// maxErrorBody bounds what we keep of a non-2xx body.
const maxErrorBody = 64 << 10

// ErrInvalid is returned for arguments rejected before any request is made
// (an empty or malformed app id, a negative instance count, a bad URL).
var ErrInvalid = errors.New("marathon: invalid argument")

// Config configures a Client.
type Config struct {
	// URL of Marathon, e.g. http://marathon.mesos:8080 or
	// https://<dcos>/service/marathon. One endpoint only.
	URL string
	// HTTPClient is used for every request. Nil: a client on
	// http.DefaultTransport. Its Timeout, if set, applies too.
	HTTPClient *http.Client
	// Auth, if set, authenticates every request (NewAuthTransport is put
	// in front of HTTPClient's transport).
	Auth TokenSource
	// Timeout bounds each call (default DefaultTimeout); the caller's
	// context can only shorten it.
	Timeout time.Duration
}

// Client talks to one Marathon. It is safe for concurrent use and keeps no
// state between calls.
type Client struct {
	url     string // without trailing slash
	hc      *http.Client
	timeout time.Duration
}

// New validates cfg and returns a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil {
		return nil, fmt.Errorf("marathon: URL: %w: %w", ErrInvalid, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("marathon: URL %q: %w: want http(s)://host[:port][/path]", cfg.URL, ErrInvalid)
	}
	if strings.Contains(u.Host, ",") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("marathon: URL %q: %w: one endpoint without query, fragment or credentials", cfg.URL, ErrInvalid)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("marathon: Timeout %s: %w: negative", cfg.Timeout, ErrInvalid)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	if cfg.Auth != nil {
		c := *hc
		c.Transport = NewAuthTransport(hc.Transport, cfg.Auth)
		hc = &c
	}
	// The token is added by a transport, so it would go with any redirect.
	hc = redirect.Guard(hc)
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Client{url: strings.TrimRight(u.String(), "/"), hc: hc, timeout: timeout}, nil
}

// call is the per-call state: the context every request of the call runs
// under, and what the last failed request looked like (go-marathon
// replaces 5xx answers and transport errors with ErrMarathonDown).
type call struct {
	ctx     context.Context
	next    http.RoundTripper
	done    chan struct{}
	timeout time.Duration

	mu     sync.Mutex
	status int    // status of the last non-2xx answer, 0 if none
	body   []byte // its body, bounded
	err    error  // the last transport error
}

func (c *Client) begin(ctx context.Context) (*call, func()) {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	next := c.hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cl := &call{ctx: cctx, next: next, done: make(chan struct{}), timeout: c.timeout}
	return cl, func() {
		cancel()
		close(cl.done)
	}
}

// httpClient is the configured client with this call's transport.
func (cl *call) httpClient(base *http.Client) *http.Client {
	hc := *base
	hc.Transport = cl
	if check := base.CheckRedirect; check != nil {
		// Keep a refused redirect as the call's cause: go-marathon would
		// report only the 3xx or ErrMarathonDown.
		hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			err := check(req, via)
			if err != nil {
				cl.mu.Lock()
				cl.status, cl.body, cl.err = 0, nil, err
				cl.mu.Unlock()
			}
			return err
		}
	}
	return &hc
}

// isRecheck tells go-marathon's background health check (a bare
// client.Get of <host>/ping, no Accept header) from its API calls, which
// always set Accept: application/json.
func isRecheck(req *http.Request) bool {
	return req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/ping") && req.Header.Get("Accept") == ""
}

// RoundTrip sends req under the call's context and records failures.
func (cl *call) RoundTrip(req *http.Request) (*http.Response, error) {
	if isRecheck(req) {
		// The go-marathon client that marked the host down is thrown away
		// when the call returns; answer its recheck then, without a
		// request, so its goroutine ends instead of polling forever. Not
		// earlier: an "up" during the call would make go-marathon resend.
		<-cl.done
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: http.NoBody, Request: req,
		}, nil
	}
	resp, err := cl.next.RoundTrip(req.WithContext(cl.ctx))
	if err != nil {
		cl.mu.Lock()
		cl.status, cl.body, cl.err = 0, nil, err
		cl.mu.Unlock()
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		cl.mu.Lock()
		cl.status, cl.body, cl.err = 0, nil, nil
		cl.mu.Unlock()
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	cl.mu.Lock()
	cl.status, cl.body, cl.err = resp.StatusCode, body, rerr
	cl.mu.Unlock()
	return resp, nil
}

// translate turns the error of a call into this package's typed errors.
// parent is the caller's context.
func (cl *call) translate(parent context.Context, op string, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("marathon %s: %w", op, perr)
	}
	if cl.ctx.Err() != nil {
		return fmt.Errorf("marathon %s: no answer within %s: %w: %w", op, cl.timeout, ErrUnavailable, context.DeadlineExceeded)
	}
	cl.mu.Lock()
	status, body, terr := cl.status, cl.body, cl.err
	cl.mu.Unlock()
	switch {
	case terr != nil && errors.Is(terr, redirect.ErrRefused):
		return fmt.Errorf("marathon %s: %w", op, terr)
	case status != 0:
		return fmt.Errorf("marathon %s: %w", op, newAPIError(status, body))
	case terr != nil && errors.Is(terr, ErrUnauthorized):
		return fmt.Errorf("marathon %s: %w", op, terr)
	case terr != nil:
		return fmt.Errorf("marathon %s: %w: %w", op, ErrUnavailable, terr)
	case errors.Is(err, gm.ErrInvalidResponse):
		return fmt.Errorf("marathon %s: %w: %w", op, ErrBadResponse, err)
	case errors.Is(err, gm.ErrMarathonDown):
		return fmt.Errorf("marathon %s: %w", op, ErrUnavailable)
	}
	return fmt.Errorf("marathon %s: %w", op, err)
}

// viaGoMarathon runs fn on a go-marathon client that lives for this call
// only (see the package comment for why).
func (c *Client) viaGoMarathon(ctx context.Context, op string, fn func(gm.Marathon) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("marathon %s: %w", op, err)
	}
	cl, end := c.begin(ctx)
	defer end()
	m, err := gm.NewClient(gm.Config{URL: c.url, HTTPClient: cl.httpClient(c.hc), LogOutput: io.Discard})
	if err != nil {
		return fmt.Errorf("marathon %s: %w: %w", op, ErrInvalid, err)
	}
	if err := fn(m); err != nil {
		return cl.translate(ctx, op, err)
	}
	return nil
}

// getJSON does GET c.url+path?query through the same client and hands a
// 2xx body to decode.
func (c *Client) getJSON(ctx context.Context, op, path string, query url.Values, decode func([]byte) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("marathon %s: %w", op, err)
	}
	cl, end := c.begin(ctx)
	defer end()
	target := c.url + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(cl.ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("marathon %s: %w: %w", op, ErrInvalid, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := cl.httpClient(c.hc).Do(req)
	if err != nil {
		return cl.translate(ctx, op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		cl.mu.Lock()
		cl.err = err
		cl.mu.Unlock()
		return cl.translate(ctx, op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("marathon %s: %w", op, newAPIError(resp.StatusCode, body))
	}
	if len(body) > maxBody {
		return fmt.Errorf("marathon %s: %w: body larger than %d bytes", op, ErrBadResponse, maxBody)
	}
	if err := decode(body); err != nil {
		return fmt.Errorf("marathon %s: %w: %w", op, ErrBadResponse, err)
	}
	return nil
}

// appPath validates a Marathon app id ("/group/app") and returns it
// without the leading slash. Marathon ids are lowercase letters, digits,
// '-' and '.', in segments separated by '/'; anything else is refused
// here rather than spliced into a URL.
func appPath(id string) (string, error) {
	p := strings.TrimPrefix(id, "/")
	if p == "" {
		return "", fmt.Errorf("marathon: app id %q: %w: empty", id, ErrInvalid)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("marathon: app id %q: %w: bad path segment", id, ErrInvalid)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
				return "", fmt.Errorf("marathon: app id %q: %w: character %q", id, ErrInvalid, r)
			}
		}
	}
	return p, nil
}

// App returns the app with its tasks, counts, deployments and versionInfo.
func (c *Client) App(ctx context.Context, id string) (*App, error) {
	p, err := appPath(id)
	if err != nil {
		return nil, err
	}
	q := url.Values{"embed": {"app.tasks", "app.counts", "app.deployments"}}
	var app *App
	err = c.getJSON(ctx, "GET /v2/apps/"+p, "/v2/apps/"+p, q, func(b []byte) error {
		var derr error
		app, derr = decodeApp(b)
		return derr
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}

// Apps lists every app with its tasks, counts and deployments. A non-empty
// selector is Marathon's label selector (GET /v2/apps?label=, apps.raml):
// "arangoscale.policy" matches apps that have the label,
// "tier==web,env!=dev" all of the comma-separated conditions.
func (c *Client) Apps(ctx context.Context, selector string) ([]*App, error) {
	q := url.Values{"embed": {"apps.tasks", "apps.counts", "apps.deployments"}}
	if selector != "" {
		q.Set("label", selector)
	}
	var apps []*App
	err := c.getJSON(ctx, "GET /v2/apps", "/v2/apps", q, func(b []byte) error {
		var derr error
		apps, derr = decodeApps(b)
		return derr
	})
	if err != nil {
		return nil, err
	}
	return apps, nil
}

// Scale sets the app's instance count and returns the deployment id.
// force overrides a deployment that locks the app (Marathon's ?force=true).
func (c *Client) Scale(ctx context.Context, id string, instances int, force bool) (string, error) {
	p, err := appPath(id)
	if err != nil {
		return "", err
	}
	if instances < 0 {
		return "", fmt.Errorf("marathon: scale %s to %d: %w: negative", id, instances, ErrInvalid)
	}
	var dep *gm.DeploymentID
	err = c.viaGoMarathon(ctx, "PUT /v2/apps/"+p, func(m gm.Marathon) error {
		var err error
		dep, err = m.ScaleApplicationInstances("/"+p, instances, force)
		return err
	})
	if err != nil {
		return "", err
	}
	if dep == nil {
		return "", fmt.Errorf("marathon PUT /v2/apps/%s: %w: no deploymentId", p, ErrBadResponse)
	}
	return dep.DeploymentID, nil
}

// KillTasks kills exactly the given tasks with the bulk
// POST /v2/tasks/delete (task ids of any Marathon version); with scale the
// apps' instance counts drop by the number killed, so Marathon does not
// start replacements. No ids: no request.
func (c *Client) KillTasks(ctx context.Context, taskIDs []string, scale bool) error {
	if len(taskIDs) == 0 {
		return nil
	}
	for _, id := range taskIDs {
		if strings.TrimSpace(id) == "" {
			return fmt.Errorf("marathon: kill tasks: %w: empty task id", ErrInvalid)
		}
	}
	ids := append([]string(nil), taskIDs...)
	return c.viaGoMarathon(ctx, "POST /v2/tasks/delete", func(m gm.Marathon) error {
		return m.KillTasks(ids, &gm.KillTaskOpts{Scale: scale})
	})
}

// Deployments lists the running deployments.
func (c *Client) Deployments(ctx context.Context) ([]Deployment, error) {
	var ds []*gm.Deployment
	err := c.viaGoMarathon(ctx, "GET /v2/deployments", func(m gm.Marathon) error {
		var err error
		ds, err = m.Deployments()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Deployment, 0, len(ds))
	for _, d := range ds {
		if d == nil {
			continue
		}
		out = append(out, Deployment{
			ID:           d.ID,
			AffectedApps: append([]string(nil), d.AffectedApps...),
			CurrentStep:  d.CurrentStep,
			TotalSteps:   d.TotalSteps,
			Version:      d.Version,
		})
	}
	return out, nil
}

// Queue lists the launch queue: instances waiting for offers and why.
func (c *Client) Queue(ctx context.Context) ([]QueueItem, error) {
	var items []QueueItem
	err := c.getJSON(ctx, "GET /v2/queue", "/v2/queue", nil, func(b []byte) error {
		var derr error
		items, derr = decodeQueue(b)
		return derr
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}

// Ping checks that Marathon answers GET /ping.
func (c *Client) Ping(ctx context.Context) error {
	return c.viaGoMarathon(ctx, "GET /ping", func(m gm.Marathon) error {
		_, err := m.Ping()
		return err
	})
}
