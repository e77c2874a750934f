package sim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// get reads one answer: status, headers (without Date, which only the TCP
// server sets) and body.
func get(t *testing.T, c *http.Client, method, url, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	resp.Header.Del("Date")
	return resp.StatusCode, resp.Header, b
}

// Every emulator answers the in-process transport exactly as it answers
// over TCP: status, headers and body bytes, GETs and a scale alike.
func TestInProcessAnswersAsTCP(t *testing.T) {
	w, _ := newWorld(t, Params{}, prodSpec(Constant(1000)))
	tcp := &http.Client{Timeout: 5 * time.Second}
	ip := &http.Client{Transport: w.InProcess()}
	same := func(base, method, path, body string) {
		t.Helper()
		ts, th, tb := get(t, tcp, method, base+path, body)
		is, ih, ib := get(t, ip, method, base+path, body)
		if ts != is || !bytes.Equal(tb, ib) {
			t.Errorf("%s %s: tcp %d %q, in-process %d %q", method, path, ts, tb, is, ib)
		}
		if len(th) != len(ih) {
			t.Errorf("%s %s: headers tcp %v, in-process %v", method, path, th, ih)
		}
		for key := range th {
			if th.Get(key) != ih.Get(key) {
				t.Errorf("%s %s: header %s tcp %q, in-process %q", method, path, key, th.Get(key), ih.Get(key))
			}
		}
	}
	m, ms, a := w.MarathonURL(), w.MesosURL(), w.ArangoURL("prod")
	for _, p := range []string{"/ping", "/v2/info", "/v2/apps/arangodb-prod/coordinator?embed=app.tasks", "/v2/apps/nope", "/v2/queue"} {
		same(m, "GET", p, "")
	}
	for _, p := range []string{"/metrics/snapshot", "/master/slaves"} {
		same(ms, "GET", p, "")
	}
	for _, p := range []string{"/_admin/cluster/health", "/_api/version", "/_admin/metrics/v2", "/_admin/cluster/numberOfServers", "/_api/database"} {
		same(a, "GET", p, "")
	}
	// A scale starts a deployment; the next one is refused (409) the same
	// way over both.
	if s, _, b := get(t, ip, "PUT", m+"/v2/apps/arangodb-prod/coordinator", `{"instances":3}`); s != http.StatusOK {
		t.Fatalf("scale: %d %s", s, b)
	}
	same(m, "PUT", "/v2/apps/arangodb-prod/coordinator", `{"instances":4}`)
	same(m, "GET", "/v2/deployments", "")
}

// A handler that hijacks the connection (the fault injector's resets and
// truncated bodies) fails the client the way a real connection does.
func TestInProcessHijackedConnections(t *testing.T) {
	hijack := func(raw string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = buf.WriteString(raw)
			_ = buf.Flush()
			_ = conn.Close()
		})
	}
	tr := NewInProcess()
	tr.Handle("reset:1", hijack(""))
	tr.Handle("short:1", hijack("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{\"a\""))
	c := &http.Client{Transport: tr}

	_, err := c.Get("http://reset:1/x")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reset: %v, want a connection reset", err)
	}
	resp, err := c.Get("http://short:1/x")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != `{"a"` {
		t.Fatalf("truncated body: %q, %v; want the 4 bytes and an unexpected EOF", b, err)
	}
	if _, err := c.Get("http://nobody:1/x"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("unknown host: %v, want connection refused", err)
	}
}

// A handler holding the request until the client gives up ends the call
// with the client's context error, as over TCP.
func TestInProcessClientDeadline(t *testing.T) {
	tr := NewInProcess()
	tr.Handle("slow:1", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://slow:1/", nil)
	if _, err := (&http.Client{Transport: tr}).Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the deadline", err)
	}
}

// The request a handler sees is what an HTTP/1.1 server parses: body,
// length, host and headers.
func TestInProcessRequestAsServerSeesIt(t *testing.T) {
	var got, want *http.Request
	var gotBody, wantBody []byte
	record := func(dst **http.Request, body *[]byte) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*dst = r
			*body, _ = io.ReadAll(r.Body)
		})
	}
	srv := httptest.NewServer(record(&want, &wantBody))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tr := NewInProcess()
	tr.Handle(host, record(&got, &gotBody))
	send := func(c *http.Client) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/apps/a?force=true", bufio.NewReader(strings.NewReader(`{"instances":2}`)))
		req.Header.Set("Authorization", "token=x")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send(&http.Client{})
	send(&http.Client{Transport: tr})
	if got.Method != want.Method || got.RequestURI != want.RequestURI || got.Host != want.Host ||
		got.ContentLength != want.ContentLength || !bytes.Equal(gotBody, wantBody) ||
		got.Header.Get("Authorization") != want.Header.Get("Authorization") {
		t.Fatalf("in-process %s %s host %s len %d %q %v\nTCP        %s %s host %s len %d %q %v",
			got.Method, got.RequestURI, got.Host, got.ContentLength, gotBody, got.Header,
			want.Method, want.RequestURI, want.Host, want.ContentLength, wantBody, want.Header)
	}
}

// The same request sent again reaches the handler as the first did (the
// transport parses it once), and what a handler did to the first (a header
// set, a parsed form) is not in the second.
func TestInProcessRepeatedRequest(t *testing.T) {
	var seen []*http.Request
	tr := NewInProcess()
	tr.Handle("127.0.0.1:9", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r)
		if r.Form != nil || r.Header.Get("X-Touched") != "" {
			t.Errorf("request %d arrives touched: form %v, header %v", len(seen), r.Form, r.Header)
		}
		_ = r.ParseForm()
		r.Header.Set("X-Touched", "yes")
		if r.Context().Value(ctxKey{}) != len(seen) {
			t.Errorf("request %d has context value %v", len(seen), r.Context().Value(ctxKey{}))
		}
	}))
	c := &http.Client{Transport: tr}
	for i := 1; i <= 3; i++ {
		req, _ := http.NewRequestWithContext(context.WithValue(context.Background(), ctxKey{}, i), http.MethodGet, "http://127.0.0.1:9/v2/apps/a?embed=app.tasks", nil)
		req.Header.Set("Authorization", "token=x")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	a, b := seen[0], seen[2]
	if a.Method != b.Method || a.RequestURI != b.RequestURI || a.Host != b.Host || a.RemoteAddr != b.RemoteAddr ||
		a.URL.String() != b.URL.String() || a.Header.Get("Authorization") != b.Header.Get("Authorization") || len(tr.parsed) != 1 {
		t.Errorf("first %s %s %s %v, third %s %s %s %v (%d kept)", a.Method, a.RequestURI, a.Host, a.Header, b.Method, b.RequestURI, b.Host, b.Header, len(tr.parsed))
	}
}

type ctxKey struct{}
