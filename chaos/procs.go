package chaos

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/marathon"
)

// senderHeader carries, from a controller's own transport to the
// checker, which controller process sent a request. The checker strips
// it before the injector and the emulators see the request.
const senderHeader = "X-Arangoscale-Chaos-Sender"

// senderTransport marks every request of one controller process.
type senderTransport struct {
	base http.RoundTripper
	id   string
}

func (t senderTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(senderHeader, t.id)
	return t.base.RoundTrip(r)
}

// proc is one controller process of a run. Every process has its own
// registry, memory and transport; the world is shared.
type proc struct {
	id      string
	ctl     *controller.Controller
	handler http.Handler
	// gate, when set, is asked before every reconcile: a process that may
	// not act (no lease, not the leader) skips it. It is the hook for
	// the HA mode's election; nil acts always.
	gate    func() bool
	stopped bool
}

// newProc builds a controller from scratch, as a new process does: new
// registry, no memory but Marathon's and ArangoDB's.
func (e *env) newProc(gate func() bool) (*proc, error) {
	e.seq++
	id := fmt.Sprintf("controller-%d", e.seq)
	tr := senderTransport{base: e.tr, id: id}
	reg := prometheus.NewRegistry()
	s := &controller.Setup{
		MarathonURL:   e.world.MarathonURL(),
		MesosURL:      e.world.MesosURL(),
		DCOS:          &http.Client{Transport: marathon.NewAuthTransport(tr, marathon.StaticToken(e.sec.DCOSToken))},
		Plain:         &http.Client{Transport: tr},
		ArangoUser:    e.sec.ArangoUser,
		Clock:         e.clk,
		Logger:        e.logger.With("process", id),
		Registry:      reg,
		Interval:      interval,
		SourceTimeout: e.o.SourceTimeout,
		Backoff:       controller.BackoffSettings{Initial: interval, Max: 2 * time.Minute, NoJitter: true},
		ReloadStatus:  e.rel.LastSuccess,
	}
	if e.sec.ArangoJWTSecret != "" {
		s.ArangoUser = ""
		s.ArangoJWTSecret = e.sec.ArangoJWTSecret
	} else {
		s.ArangoPassword = e.sec.ArangoPassword
	}
	ctl, err := s.Build()
	if err != nil {
		return nil, fmt.Errorf("build controller: %w", err)
	}
	if err := ctl.SetPolicy(e.rel.Current()); err != nil {
		return nil, fmt.Errorf("controller policy: %w", err)
	}
	h := ctl.Handler(controller.HTTPOptions{AdminToken: e.sec.AdminToken, Reload: func(ctx context.Context) error {
		_, err := e.rel.Reload(ctx)
		return err
	}})
	return &proc{id: id, ctl: ctl, handler: h, gate: gate}, nil
}

// startController replaces the running process by a new one, as Marathon
// does with the shipped single-instance app (upgradeStrategy 0/0,
// unreachableStrategy disabled: the old one is gone before the new one
// starts).
func (e *env) startController() error {
	p, err := e.newProc(nil)
	if err != nil {
		return err
	}
	e.mu.Lock()
	for _, old := range e.procs {
		if !old.stopped {
			old.stopped = true
			e.chk.stopped(old.id)
		}
	}
	e.procs = append(e.procs, p)
	e.ctl, e.handler = p.ctl, p.handler
	e.mu.Unlock()
	return nil
}

// startBeside starts another process while the others keep running: what
// the shipped mode never does, and what HA must fence (gate).
func (e *env) startBeside(gate func() bool) (*proc, error) {
	p, err := e.newProc(gate)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p, nil
}

// running returns the processes not stopped.
func (e *env) running() []*proc {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*proc
	for _, p := range e.procs {
		if !p.stopped {
			out = append(out, p)
		}
	}
	return out
}

// reconcile runs one reconcile of every running process whose gate lets
// it, side by side as separate processes would, and the during funcs
// beside them (a reload landing mid-reconcile); false when one did not
// return within stepTimeout.
func (e *env) reconcile(during ...func()) bool {
	var wg sync.WaitGroup
	for _, f := range during {
		wg.Go(f)
	}
	for _, p := range e.running() {
		if p.gate != nil && !p.gate() {
			continue
		}
		wg.Go(func() { p.ctl.Step(e.ctx, true) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(stepTimeout):
		return false
	}
}
