package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"syscall"
	"time"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
)

// cmdScale records a person's wanted count for one role where the running
// controller reads it (a hold document in the cluster's _system database),
// then follows Marathon until the count is reached. It never scales
// anything itself: the controller that owns the cluster does, through its
// usual path (a DB-server scale-down through the clean-out saga), and
// keeps the count until the hold ends. --release ends a hold early.
func cmdScale(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o scaleOptions
	fs.StringVar(&o.cluster, "cluster", "", "cluster name in the policy")
	role := fs.String("role", "", "coordinators or dbservers")
	fs.IntVar(&o.to, "to", 0, "instance count wanted (clamped to the policy's min and max)")
	fs.DurationVar(&o.hold, "for", 0, "how long the count is held (default: the role's manual_hold, else 1h)")
	fs.StringVar(&o.why, "why", "", "why, shown in /status and the log")
	fs.BoolVar(&o.release, "release", false, "end the role's hold now; the policy decides again")
	fs.BoolVar(&o.wait, "wait", true, "follow Marathon until the count is reached")
	timeout := fs.Duration("timeout", 30*time.Minute, "stop following after this long (the hold stays)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arangoscale scale --cluster C --role coordinators|dbservers (--to N [--for D] [--why TEXT] | --release)")
		fmt.Fprintln(stderr, "       (ARANGOSCALE_* environment as for run; a running controller applies the hold)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.role = policy.Role(*role)
	if o.cluster == "" || (o.role != policy.Coordinators && o.role != policy.DBServers) || fs.NArg() > 0 ||
		(o.release == (o.to >= 1)) || o.hold < 0 {
		fs.Usage()
		return 2
	}
	o.by = whoAmI()
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
	if err := manualScale(ctx, setup, pol, o, tick, stdout); err != nil {
		fmt.Fprintf(stderr, "arangoscale scale: %v\n", err)
		return 1
	}
	return 0
}

type scaleOptions struct {
	cluster       string
	role          policy.Role
	to            int
	hold          time.Duration
	why, by       string
	release, wait bool
}

func whoAmI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return name
}

// manualScale stores (or, with release, deletes) the role's hold and, with
// wait, follows the role's Marathon app read-only until it runs the count.
// wait returns when the next look is due (a real sleep for the command, a
// virtual-time step with the controller's reconcile in tests).
func manualScale(ctx context.Context, setup *controller.Setup, pol *policy.Config, o scaleOptions,
	wait func(context.Context) error, out io.Writer) error {
	var pc *policy.Cluster
	for _, c := range pol.Clusters {
		if c.Name == o.cluster {
			pc = c
		}
	}
	if pc == nil {
		return fmt.Errorf("no cluster %q in the policy", o.cluster)
	}
	rp, ok := pc.Roles[o.role]
	if !ok {
		return fmt.Errorf("cluster %q has no %s policy", o.cluster, o.role)
	}
	store, err := setup.HoldStore(pc)
	if err != nil {
		return fmt.Errorf("cluster %q: %w", o.cluster, err)
	}
	clk := setup.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	old, had, err := store.Hold(ctx, string(o.role))
	if err != nil {
		return fmt.Errorf("read the %s hold of %s: %w", o.role, o.cluster, err)
	}
	if o.release {
		if !had {
			fmt.Fprintf(out, "%s %s has no hold; nothing to release\n", o.cluster, o.role)
			return nil
		}
		if err := store.DeleteHold(ctx, string(o.role), old.Rev); err != nil {
			return fmt.Errorf("release the %s hold of %s: %w", o.role, o.cluster, err)
		}
		fmt.Fprintf(out, "released the hold of %s %s at %d (it ran until %s); the policy decides again at the next reconcile\n",
			o.cluster, o.role, old.Count, old.Until.UTC().Format(time.RFC3339))
		return nil
	}
	want := min(max(o.to, rp.Min), rp.Max)
	if want != o.to {
		fmt.Fprintf(out, "%d is outside %d..%d: scaling to %d\n", o.to, rp.Min, rp.Max, want)
	}
	hold := o.hold
	if hold <= 0 {
		hold = rp.ManualHold
	}
	if hold <= 0 {
		hold = time.Hour
	}
	now := clk.Now()
	h := arangodb.Hold{Cluster: o.cluster, Role: string(o.role), Count: want, Until: now.Add(hold), SetAt: now,
		By: o.by, Why: o.why, Source: controller.HoldFromCLI}
	if had {
		h.Rev = old.Rev // replace exactly the hold read, not one written since
	}
	if _, err := store.PutHold(ctx, h); err != nil {
		if errors.Is(err, arangodb.ErrHoldChanged) {
			return fmt.Errorf("the %s hold of %s changed while it was written; look again and retry: %w", o.role, o.cluster, err)
		}
		return fmt.Errorf("store the %s hold of %s: %w", o.role, o.cluster, err)
	}
	fmt.Fprintf(out, "hold stored: %s %s at %d until %s; the running controller applies it at its next reconcile\n",
		o.cluster, o.role, want, h.Until.UTC().Format(time.RFC3339))
	if !o.wait {
		return nil
	}
	mc, err := setup.MarathonClient()
	if err != nil {
		return err
	}
	appID := pc.AppID(o.role)
	last := ""
	for {
		line := ""
		app, err := mc.App(ctx, appID)
		if err != nil {
			line = "marathon: " + err.Error()
		} else {
			line = fmt.Sprintf("target %d, running %d, healthy %d", app.Instances, app.TasksRunning, app.TasksHealthy)
			if len(app.Deployments) > 0 {
				line += ", deploying"
			}
		}
		if line != last {
			fmt.Fprintf(out, "%s  %s\n", clk.Now().UTC().Format(time.TimeOnly), line)
			last = line
		}
		if err == nil && app.Instances == want && app.TasksRunning == want && app.TasksHealthy == want && len(app.Deployments) == 0 {
			fmt.Fprintf(out, "done: %s %s at %d, held until %s\n", o.cluster, o.role, want, h.Until.UTC().Format(time.RFC3339))
			return nil
		}
		if err := wait(ctx); err != nil {
			return fmt.Errorf("%s %s not at %d yet (is a controller running? the hold stays): %w", o.cluster, o.role, want, err)
		}
	}
}
