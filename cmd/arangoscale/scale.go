package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
)

// cmdScale changes one role's instance count by hand through the
// controller's own code path: the count is pinned like a change made in
// ArangoDB's web UI, a DB-server scale-down goes through the clean-out
// saga, and every step is reported until the count is reached.
func cmdScale(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	clusterName := fs.String("cluster", "", "cluster name in the policy")
	role := fs.String("role", "", "coordinators or dbservers")
	to := fs.Int("to", 0, "instance count wanted (clamped to the policy's min and max)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arangoscale scale --cluster C --role coordinators|dbservers --to N   (ARANGOSCALE_* environment as for run)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	r := policy.Role(*role)
	if *clusterName == "" || (r != policy.Coordinators && r != policy.DBServers) || *to < 1 || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	cfg, _, setup, err := fromEnv(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale: %v\n", err)
		return 2
	}
	pol, err := policy.LoadFile(cfg.PolicyFile)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale: policy %s rejected:\n%v\n", cfg.PolicyFile, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tick := func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return nil
		}
	}
	if err := manualScale(ctx, setup, pol, *clusterName, r, *to, tick, stdout); err != nil {
		fmt.Fprintf(stderr, "arangoscale scale: %v\n", err)
		return 1
	}
	return 0
}

// manualScale pins the role and reconciles until the count is reached,
// reporting every change of the role or the saga. wait returns when the
// next reconcile is due (a real sleep for the command, a virtual-time step
// in tests).
func manualScale(ctx context.Context, setup *controller.Setup, pol *policy.Config, clusterName string, r policy.Role, to int,
	wait func(context.Context) error, out io.Writer) error {
	var pc *policy.Cluster
	for _, c := range pol.Clusters {
		if c.Name == clusterName {
			pc = c
		}
	}
	if pc == nil {
		return fmt.Errorf("no cluster %q in the policy", clusterName)
	}
	rp, ok := pc.Roles[r]
	if !ok {
		return fmt.Errorf("cluster %q has no %s policy", clusterName, r)
	}
	want := min(max(to, rp.Min), rp.Max)
	if want != to {
		fmt.Fprintf(out, "%d is outside %d..%d: scaling to %d\n", to, rp.Min, rp.Max, want)
	}
	ctl, err := setup.Build()
	if err != nil {
		return err
	}
	if err := ctl.SetPolicy(&policy.Config{Clusters: []*policy.Cluster{pc}}); err != nil {
		return err
	}
	clk := setup.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	hold := rp.ManualHold
	if hold <= 0 {
		hold = time.Hour
	}
	if err := ctl.Pin(clusterName, r, want, clk.Now().Add(hold)); err != nil {
		return err
	}
	fmt.Fprintf(out, "scaling %s %s to %d (held for %s, then the policy decides again)\n", clusterName, r, want, hold)
	last := ""
	for {
		ctl.Step(ctx, true)
		rs, saga := roleStatus(ctl, clusterName, string(r))
		line := fmt.Sprintf("target %d, running %d, healthy %d; saga %s", rs.Target, rs.Current, rs.Healthy, saga.Step)
		if saga.Server != "" {
			line += " " + saga.Server
		}
		if saga.Detail != "" {
			line += " (" + saga.Detail + ")"
		}
		if saga.Refused != "" {
			line += "; refused: " + saga.Refused
		}
		if rs.LastAction != nil && rs.LastAction.Error != "" {
			line += "; last error: " + rs.LastAction.Error
		}
		if line != last {
			fmt.Fprintf(out, "%s  %s\n", clk.Now().UTC().Format(time.TimeOnly), line)
			last = line
		}
		if rs.Target == want && rs.Current == want && rs.Healthy == want && saga.Step == controller.StepIdle {
			fmt.Fprintf(out, "done: %s %s at %d\n", clusterName, r, want)
			return nil
		}
		if err := wait(ctx); err != nil {
			return fmt.Errorf("%s %s not at %d: %w", clusterName, r, want, err)
		}
	}
}

func roleStatus(ctl *controller.Controller, cluster, role string) (controller.RoleStatus, controller.SagaStatus) {
	for _, c := range ctl.Status().Clusters {
		if c.Name != cluster {
			continue
		}
		for _, rs := range c.Roles {
			if rs.Role == role {
				return rs, c.Saga
			}
		}
		return controller.RoleStatus{}, c.Saga
	}
	return controller.RoleStatus{}, controller.SagaStatus{}
}
