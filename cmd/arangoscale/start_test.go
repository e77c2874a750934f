package main

import (
	"bytes"
	"context"
	"testing"
)

// startEmulate serves the emulated world of `arangoscale emulate` until the
// test ends; out holds what it printed.
func startEmulate(t *testing.T, o emulateOptions) (e *emulated, out *syncWriter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan *emulated, 1)
	done := make(chan error, 1)
	out = &syncWriter{w: &bytes.Buffer{}}
	go func() { done <- runEmulate(ctx, o, out, func(e *emulated) { got <- e }) }()
	select {
	case e = <-got:
		t.Cleanup(func() { cancel(); <-done })
		return e, out
	case err := <-done:
		cancel()
		t.Fatalf("emulate ended: %v", err)
		return nil, nil
	}
}

// startRun runs `arangoscale run` until the test ends, which it must
// survive with exit code 0, with the test's environment plus env (an
// emulator's run line: then it listens on a free port, logs text and
// reconciles every second). It returns the address it listens on and its
// log.
func startRun(t *testing.T, env map[string]string) (addr string, logs *syncWriter) {
	t.Helper()
	if env != nil {
		for k, v := range env {
			t.Setenv(k, v)
		}
		t.Setenv("ARANGOSCALE_LISTEN", "127.0.0.1:0")
		t.Setenv("ARANGOSCALE_LOG_FORMAT", "text")
		t.Setenv("ARANGOSCALE_INTERVAL", "1s")
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	logs = &syncWriter{w: &bytes.Buffer{}}
	go func() { done <- runController(ctx, logs, runHooks{listening: func(a string) { addrc <- a }}) }()
	select {
	case addr = <-addrc:
		t.Cleanup(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("run exited %d:\n%s", code, logs.String())
			}
		})
		return addr, logs
	case code := <-done:
		cancel()
		t.Fatalf("run exited %d before listening:\n%s", code, logs.String())
		return "", nil
	}
}
