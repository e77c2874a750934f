package controller

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestProfilesBounded: ?seconds=86400 is refused, and a second timed
// profile while one runs gets 429.
func TestProfilesBounded(t *testing.T) {
	h := PprofHandler()
	for _, p := range []string{"/debug/pprof/profile?seconds=86400", "/debug/pprof/trace?seconds=86400", "/debug/pprof/heap?seconds=86400", "/debug/pprof/profile?seconds=x"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", p, rec.Code)
		}
	}
	busy := make(chan struct{}, 1)
	entered, release := make(chan struct{}), make(chan struct{})
	slow := limitProfiles(busy, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	done := make(chan struct{})
	go func() {
		slow(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/debug/pprof/profile?seconds=5", nil))
		close(done)
	}()
	<-entered
	rec := httptest.NewRecorder()
	slow(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/profile?seconds=5", nil))
	if rec.Code != http.StatusTooManyRequests {
		t.Errorf("second profile while one runs: %d, want 429", rec.Code)
	}
	close(release)
	<-done
	if s := NewPprofServer(); s.WriteTimeout <= MaxProfileSeconds*time.Second {
		t.Errorf("pprof server write timeout %s does not exceed the longest profile", s.WriteTimeout)
	}
}

// TestServerClosesIdleConnections: the server has read, write and idle
// timeouts, and an idle keep-alive connection is closed by it.
func TestServerClosesIdleConnections(t *testing.T) {
	s := NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	if s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.IdleTimeout > time.Minute {
		t.Fatalf("timeouts read %s write %s idle %s", s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}
	s.IdleTimeout = 100 * time.Millisecond // the test need not wait 30 s
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	defer s.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The connection stays open for keep-alive; the server must close it.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle keep-alive connection not closed by the server: %v", err)
	}
}
