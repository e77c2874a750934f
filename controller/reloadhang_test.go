package controller_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/reload"
)

// TestReloadAnswersWhilePolicyFetchHangs: a policy server that sends
// headers and never finishes the body holds neither the poller nor
// POST /-/reload: each fetch ends at its deadline and the next one runs.
func TestReloadAnswersWhilePolicyFetchHangs(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	started := make(chan struct{}, 16)
	release := make(chan struct{})
	policySrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "4096")
		_, _ = w.Write([]byte("clusters:\n"))
		w.(http.Flusher).Flush()
		started <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer policySrv.Close()
	defer close(release)

	// A client without a timeout, as the run command passes its TLS client.
	ticks := make(chan time.Time)
	rl, err := reload.New[*policy.Config](policySrv.URL+"/policy.yaml", policy.Load, reload.Options{
		Client:       &http.Client{},
		FetchTimeout: 200 * time.Millisecond,
		After:        func(time.Duration) <-chan time.Time { return ticks },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() { watched <- rl.Watch(ctx) }()
	defer func() { cancel(); <-watched }()

	ticks <- time.Time{} // the poller fetches
	<-started            // ... and hangs in the body

	srv := httptestServer(t, h.ctl.Handler(reloadHTTPOptions(rl)))
	req, _ := http.NewRequest(http.MethodPost, srv+"/-/reload", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST /-/reload while a policy fetch hangs: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), "deadline") {
		t.Fatalf("POST /-/reload: %d %s, want the fetch's deadline reported", resp.StatusCode, body)
	}
	<-started // the POST's own fetch ran (and hung until its deadline)

	// The poller is not stuck either: its next tick fetches again.
	select {
	case ticks <- time.Time{}:
	case <-time.After(5 * time.Second):
		t.Fatal("the poller is stuck in a hung fetch")
	}
	<-started
}

// reloadHTTPOptions wires POST /-/reload to rl as the run command does.
func reloadHTTPOptions(rl *reload.Reloader[*policy.Config]) controller.HTTPOptions {
	o := controllerHTTPOptions()
	o.Reload = func(ctx context.Context) error { _, err := rl.Reload(ctx); return err }
	return o
}
