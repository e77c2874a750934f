package reload

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// stalling sends headers and the first bytes of a policy, then never
// finishes the body until release is closed.
func stalling(t *testing.T) (url string, started <-chan struct{}, release chan struct{}) {
	st := make(chan struct{}, 16)
	release = make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("clusters:\n"))
		w.(http.Flusher).Flush()
		st <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		srv.Close()
	})
	return srv.URL, st, release
}

// TestHungFetchHasADeadline: a body that never ends fails the fetch at its
// deadline, even on a client without a timeout of its own.
func TestHungFetchHasADeadline(t *testing.T) {
	url, _, _ := stalling(t)
	r, err := New(url, (&counting{}).load, Options{Client: &http.Client{}, FetchTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Reload(context.Background()); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSource) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hung fetch: %v, want a source error wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("a fetch whose body never ends hangs Reload")
	}
}

// TestReloadWaitsWithItsOwnContext: while a fetch hangs inside one Reload
// (SIGHUP, say, on the process context), another caller (POST /-/reload,
// the poller) waits only as long as its own context allows.
func TestReloadWaitsWithItsOwnContext(t *testing.T) {
	url, started, release := stalling(t)
	r, err := New(url, (&counting{}).load, Options{Client: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { _, err := r.Reload(context.Background()); first <- err }()
	<-started // the first Reload is inside its fetch

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() { _, err := r.Reload(ctx); second <- err }()
	select {
	case err := <-second:
		if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second reload: %v, want ErrBusy and its context's deadline", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("a reload waits for a hung one beyond its own context")
	}
	close(release)
	<-first
}
