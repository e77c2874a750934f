// Package redirect owns which HTTP redirects arangoscale follows.
//
// Every client that carries credentials (the DC/OS token, ArangoDB basic
// auth or JWT, Prometheus and policy-URL credentials) adds them in a
// RoundTripper or on the request, and Go's http.Client would send them on to
// wherever a 3xx points: a transport adds its header to the redirected
// request too, and Go keeps a request's Authorization for the same host name
// on any port and from https to http. So redirects are followed only within
// the origin of the request that was redirected: same scheme, same host and
// port; an upgrade from http to https on the same host name is allowed.
package redirect

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrRefused is matched (errors.Is) by the error of a refused redirect.
var ErrRefused = errors.New("redirect refused")

// maxHops is http.Client's own default limit.
const maxHops = 10

// Check is an http.Client CheckRedirect: it refuses a redirect that leaves
// the origin of the original request, and more than 10 hops.
func Check(req *http.Request, via []*http.Request) error {
	if len(via) >= maxHops {
		return fmt.Errorf("%w: stopped after %d redirects", ErrRefused, maxHops)
	}
	return Allowed(via[0].URL, req.URL)
}

// Allowed reports, as an error wrapping ErrRefused, whether a redirect from
// from to to may carry from's credentials.
func Allowed(from, to *url.URL) error {
	switch {
	case from.Scheme == "https" && to.Scheme != "https":
		return fmt.Errorf("%w: %s to %s downgrades https", ErrRefused, origin(from), origin(to))
	case from.Scheme == "http" && to.Scheme == "https":
		if !strings.EqualFold(from.Hostname(), to.Hostname()) {
			return fmt.Errorf("%w: %s to another host %s", ErrRefused, origin(from), origin(to))
		}
		return nil
	case from.Scheme != to.Scheme || !strings.EqualFold(hostPort(from), hostPort(to)):
		return fmt.Errorf("%w: %s to another host %s", ErrRefused, origin(from), origin(to))
	}
	return nil
}

// Guard returns a copy of c (nil: a default client) whose redirects are
// checked by Check, after c's own CheckRedirect if it has one.
func Guard(c *http.Client) *http.Client {
	var g http.Client
	if c != nil {
		g = *c
	}
	own := g.CheckRedirect
	g.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := Check(req, via); err != nil {
			return err
		}
		if own != nil {
			return own(req, via)
		}
		return nil
	}
	return &g
}

func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// hostPort is the host with the scheme's default port made explicit, so
// http://h and http://h:80 are one origin.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch u.Scheme {
	case "https":
		return u.Host + ":443"
	case "http":
		return u.Host + ":80"
	}
	return u.Host
}
