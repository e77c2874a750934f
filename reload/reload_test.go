package reload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/arangoscale/arangoscale/clock"
)

const testTimeout = 10 * time.Second

// policy stands in for the real policy type.
type policy struct{ Text string }

// counting is a loader that rejects content starting with "bad" the way the
// policy package does (file:line:col: message) and counts its calls.
type counting struct{ calls atomic.Int32 }

func (c *counting) load(name string, data []byte) (policy, error) {
	c.calls.Add(1)
	if strings.HasPrefix(string(data), "bad") {
		return policy{}, fmt.Errorf("%s:1:1: unknown key %q", name, strings.TrimSpace(string(data)))
	}
	return policy{Text: string(data)}, nil
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// changes returns a channel receiving each new value from OnChange.
func changes(r *Reloader[policy]) <-chan policy {
	ch := make(chan policy, 16)
	r.OnChange(func(_, n policy) { ch <- n })
	return ch
}

func waitChange(t *testing.T, ch <-chan policy, want string) {
	t.Helper()
	select {
	case p := <-ch:
		if p.Text != want {
			t.Fatalf("changed to %q, want %q", p.Text, want)
		}
	case <-time.After(testTimeout):
		t.Fatalf("no reload to %q within %s", want, testTimeout)
	}
}

// watch runs Watch until the test ends and fails the test if it errors.
func watch(t *testing.T, r *Reloader[policy]) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
}

// manualTimer replaces time.After: every timer is the same channel, fired
// by the test; calls reports each timer started.
type manualTimer struct {
	fire  chan time.Time
	calls chan time.Duration
}

func newManualTimer() *manualTimer {
	return &manualTimer{fire: make(chan time.Time), calls: make(chan time.Duration, 1024)}
}

func (m *manualTimer) after(d time.Duration) <-chan time.Time {
	m.calls <- d
	return m.fire
}

func (m *manualTimer) waitStarted(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-m.calls:
		return d
	case <-time.After(testTimeout):
		t.Fatal("no timer started")
		return 0
	}
}

func (m *manualTimer) tick(t *testing.T) {
	t.Helper()
	select {
	case m.fire <- time.Time{}:
	case <-time.After(testTimeout):
		t.Fatal("nobody waiting on the timer")
	}
}

func newFileReloader(t *testing.T, content string, opts Options) (*Reloader[policy], string, *counting) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policies.yaml")
	write(t, path, content)
	c := &counting{}
	r, err := New(path, c.load, opts)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := r.Reload(context.Background()); err != nil || !changed {
		t.Fatalf("first Reload: changed=%v err=%v", changed, err)
	}
	return r, path, c
}

func TestFileEditReloads(t *testing.T) {
	r, path, _ := newFileReloader(t, "v1", Options{Debounce: 5 * time.Millisecond})
	ch := changes(r)
	watch(t, r)
	// Watch may not have subscribed yet when we write: keep writing
	// until the change is seen, never sleeping for synchronisation.
	deadline := time.After(testTimeout)
	for {
		write(t, path, "v2")
		select {
		case p := <-ch:
			if p.Text != "v2" || r.Current().Text != "v2" {
				t.Fatalf("changed to %q, Current %q", p.Text, r.Current().Text)
			}
			return
		case <-time.After(50 * time.Millisecond): // not subscribed yet: again
		case <-deadline:
			t.Fatal("edit not seen")
		}
	}
}

func TestRenameReplaceReloads(t *testing.T) {
	mt := newManualTimer()
	r, path, _ := newFileReloader(t, "v1", Options{After: mt.after})
	ch := changes(r)
	watch(t, r)
	// Like `mv new old` or a config mount: a new inode renamed over the file.
	ready := make(chan struct{})
	go func() {
		defer close(ready)
		for i := 0; ; i++ {
			tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".policies.yaml.tmp%d", i))
			if err := os.WriteFile(tmp, []byte("v2"), 0o644); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-mt.calls: // the watcher saw the rename
				return
			case <-time.After(50 * time.Millisecond): // not subscribed yet: again
			}
		}
	}()
	<-ready
	mt.tick(t)
	waitChange(t, ch, "v2")
}

func TestDebounceGivesOneReload(t *testing.T) {
	mt := newManualTimer()
	r, path, c := newFileReloader(t, "v0", Options{After: mt.after, Debounce: 3 * time.Second})
	ch := changes(r)
	watch(t, r)
	var d time.Duration
	for i := 1; d == 0; i++ {
		write(t, path, fmt.Sprintf("v%d", i))
		select {
		case d = <-mt.calls:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if d != 3*time.Second {
		t.Fatalf("debounce timer %s, want 3s", d)
	}
	for _, s := range []string{"w1", "w2", "final"} {
		write(t, path, s)
	}
	mt.tick(t)
	waitChange(t, ch, "final")
	if n := c.calls.Load(); n != 2 {
		t.Fatalf("loader ran %d times, want 2 (initial + one debounced)", n)
	}
	select {
	case p := <-ch:
		t.Fatalf("second reload to %q", p.Text)
	default:
	}
}

func TestUnrelatedFilesIgnored(t *testing.T) {
	e := func(name string) bool { return relevant(fsEvent(name), "policies.yaml") }
	for name, want := range map[string]bool{
		"/mnt/mesos/sandbox/policies.yaml":    true,
		"/etc/arangoscale/..data":             true,
		"/etc/arangoscale/..2026_11_26_06_00": true,
		"/mnt/mesos/sandbox/stdout":           false,
		"/mnt/mesos/sandbox/policies.yaml~":   false,
	} {
		if got := e(name); got != want {
			t.Errorf("relevant(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestBadContentKeepsOld(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, path, _ := newFileReloader(t, "good", Options{Clock: vc})
	ok, at := r.LastSuccess()
	if !ok || !at.Equal(vc.Now()) || r.LastError() != nil {
		t.Fatalf("after first load: ok=%v at=%v err=%v", ok, at, r.LastError())
	}
	ch := changes(r)
	vc.Advance(time.Minute)
	write(t, path, "bad: key")
	changed, err := r.Reload(context.Background())
	if changed || err == nil {
		t.Fatalf("bad content: changed=%v err=%v", changed, err)
	}
	var le *LoadError
	if !errors.As(err, &le) || !errors.Is(err, ErrRejected) || !strings.HasPrefix(err.Error(), path+":1:1: ") {
		t.Fatalf("error %v (%T) is not the loader's file:line:col error", err, err)
	}
	if r.Current().Text != "good" {
		t.Fatalf("bad content replaced the policy: %q", r.Current().Text)
	}
	if ok, at2 := r.LastSuccess(); ok || !at2.Equal(at) || r.LastError() == nil {
		t.Fatalf("status after failure: ok=%v at=%v err=%v", ok, at2, r.LastError())
	}
	select {
	case p := <-ch:
		t.Fatalf("OnChange ran for bad content: %q", p.Text)
	default:
	}
	// Reverting to the good content clears the error without a change.
	write(t, path, "good")
	if changed, err := r.Reload(context.Background()); changed || err != nil {
		t.Fatalf("revert: changed=%v err=%v", changed, err)
	}
	if ok, _ := r.LastSuccess(); !ok || r.LastError() != nil {
		t.Fatal("error not cleared by revert")
	}
	// A missing file is a source error, the policy is kept.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = r.Reload(context.Background())
	if !errors.Is(err, ErrSource) || !errors.Is(err, os.ErrNotExist) || r.Current().Text != "good" {
		t.Fatalf("missing file: %v, current %q", err, r.Current().Text)
	}
}

func TestUnchangedIsNoop(t *testing.T) {
	r, path, c := newFileReloader(t, "same", Options{})
	var old, cur policy
	r.OnChange(func(o, n policy) { old, cur = o, n })
	for range 3 {
		if changed, err := r.Reload(context.Background()); changed || err != nil {
			t.Fatalf("unchanged: changed=%v err=%v", changed, err)
		}
	}
	if c.calls.Load() != 1 {
		t.Fatalf("loader ran %d times for unchanged content", c.calls.Load())
	}
	write(t, path, "other")
	if changed, err := r.Reload(context.Background()); !changed || err != nil {
		t.Fatalf("changed content: changed=%v err=%v", changed, err)
	}
	if old.Text != "same" || cur.Text != "other" {
		t.Fatalf("OnChange(%q, %q)", old.Text, cur.Text)
	}
}

// server serves a policy with an ETag and Last-Modified and answers
// conditional requests with 304.
type server struct {
	mu       sync.Mutex
	body     string
	etag     string
	requests []http.Header
}

func (s *server) set(body, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Header.Clone())
	if s.etag == "" {
		http.Error(w, "no policy here\nsecond line", http.StatusNotFound)
		return
	}
	w.Header().Set("Last-Modified", "Thu, 26 Nov 2026 06:00:00 GMT")
	w.Header().Set("ETag", s.etag)
	if r.Header.Get("If-None-Match") == s.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	fmt.Fprint(w, s.body)
}

func (s *server) last() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

func TestURLWithETag(t *testing.T) {
	srv := &server{}
	srv.set("v1", `"a1"`)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := &counting{}
	r, err := New(ts.URL+"/policies.yaml", c.load, Options{Client: ts.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if changed, err := r.Reload(ctx); !changed || err != nil || r.Current().Text != "v1" {
		t.Fatalf("first fetch: %v %v %q", changed, err, r.Current().Text)
	}
	if h := srv.last(); h.Get("If-None-Match") != "" {
		t.Fatalf("first request was conditional: %v", h)
	}
	if changed, err := r.Reload(ctx); changed || err != nil {
		t.Fatalf("304: changed=%v err=%v", changed, err)
	}
	if h := srv.last(); h.Get("If-None-Match") != `"a1"` || h.Get("If-Modified-Since") == "" {
		t.Fatalf("second request not conditional: %v", h)
	}
	if c.calls.Load() != 1 {
		t.Fatalf("loader ran on 304")
	}
	// A bad new version is rejected and its ETag not remembered.
	srv.set("bad: x", `"a2"`)
	if _, err := r.Reload(ctx); !errors.Is(err, ErrRejected) {
		t.Fatalf("bad body: %v", err)
	}
	if _, err := r.Reload(ctx); !errors.Is(err, ErrRejected) || srv.last().Get("If-None-Match") != `"a1"` {
		t.Fatalf("bad body must be refetched and rejected again: %v", err)
	}
	srv.set("v3", `"a3"`)
	if changed, err := r.Reload(ctx); !changed || err != nil || r.Current().Text != "v3" {
		t.Fatalf("new version: %v %v %q", changed, err, r.Current().Text)
	}
	// Errors keep the policy and never spill the body over lines.
	srv.set("", "")
	_, err = r.Reload(ctx)
	if !errors.Is(err, ErrSource) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %q", err)
	}
	if r.Current().Text != "v3" {
		t.Fatal("policy lost on fetch error")
	}
}

func TestURLPasswordNeverShown(t *testing.T) {
	c := &counting{}
	r, err := New("http://user:topsecret@127.0.0.1:1/p.yaml", c.load, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Reload(ctx)
	if err == nil || strings.Contains(err.Error(), "topsecret") || strings.Contains(r.Source(), "topsecret") {
		t.Fatalf("password shown: %v / %s", err, r.Source())
	}
}

func TestURLSizeLimit(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 100))
	}))
	defer ts.Close()
	c := &counting{}
	r, _ := New(ts.URL, c.load, Options{MaxSize: 10})
	if _, err := r.Reload(context.Background()); !errors.Is(err, ErrSource) || c.calls.Load() != 0 {
		t.Fatalf("oversized body: %v", err)
	}
}

func TestURLPolling(t *testing.T) {
	srv := &server{}
	srv.set("v1", `"a1"`)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	mt := newManualTimer()
	c := &counting{}
	r, _ := New(ts.URL, c.load, Options{After: mt.after, PollInterval: time.Minute})
	if _, err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	ch := changes(r)
	watch(t, r)
	if d := mt.waitStarted(t); d != time.Minute {
		t.Fatalf("poll interval %s", d)
	}
	mt.tick(t) // 304
	mt.waitStarted(t)
	srv.set("v2", `"a2"`)
	mt.tick(t)
	waitChange(t, ch, "v2")
	if c.calls.Load() != 2 {
		t.Fatalf("loader ran %d times", c.calls.Load())
	}
}

func TestConcurrentReadsDuringReloads(t *testing.T) {
	r, path, _ := newFileReloader(t, "v0", Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if p := r.Current(); !strings.HasPrefix(p.Text, "v") {
					t.Errorf("torn read %q", p.Text)
					return
				}
				r.LastSuccess()
			}
		}()
	}
	for i := range 50 {
		write(t, path, fmt.Sprintf("v%d", i+1))
		if _, err := r.Reload(ctx); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
}

func TestNewRejects(t *testing.T) {
	c := &counting{}
	if _, err := New("", c.load, Options{}); err == nil {
		t.Error("empty source accepted")
	}
	if _, err := New[policy]("p.yaml", nil, Options{}); err == nil {
		t.Error("nil loader accepted")
	}
	if _, err := New("https:///x", c.load, Options{}); err == nil {
		t.Error("URL without host accepted")
	}
}

func TestWatchMissingDirectory(t *testing.T) {
	c := &counting{}
	r, _ := New(filepath.Join(t.TempDir(), "gone", "p.yaml"), c.load, Options{})
	if err := r.Watch(context.Background()); err == nil {
		t.Fatal("Watch of a missing directory succeeded")
	}
}

func fsEvent(name string) fsnotify.Event { return fsnotify.Event{Name: name, Op: fsnotify.Write} }
