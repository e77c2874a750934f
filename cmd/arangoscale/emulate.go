package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/sim"
)

// cmdEmulate serves the emulated DC/OS + ArangoDB world in real time until
// interrupted, so the controller (or curl, or go-marathon) can be pointed
// at it by hand.
func cmdEmulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tracePath := fs.String("trace", "", "load trace CSV (t_seconds,rps); default: the shipped one-day World Cup 98 slice")
	speed := fs.Float64("speed", 60, "replay the trace this many times faster than real time")
	scale := fs.Float64("scale-rps", 1, "multiply the trace's requests per second by this")
	name := fs.String("cluster", "demo", "cluster name (Marathon apps /arangodb-<name>/coordinator and /dbserver)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	data := sim.DemoTrace
	if *tracePath != "" {
		b, err := os.ReadFile(*tracePath)
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale emulate: %v\n", err)
			return 1
		}
		data = b
	}
	tr, err := sim.ReadTrace(bytes.NewReader(data))
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale emulate: trace: %v\n", err)
		return 1
	}
	spec := demoCluster(*name)
	spec.Load = tr.Func(*speed, *scale)
	w, err := sim.NewWorld(clock.Real{}, sim.DefaultParams(), spec)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale emulate: %v\n", err)
		return 1
	}
	if err := w.Start(); err != nil {
		fmt.Fprintf(stderr, "arangoscale emulate: %v\n", err)
		return 1
	}
	defer w.Close()
	fmt.Fprintf(stdout, "marathon: %s\nmesos:    %s\narangodb: %s (cluster %q)\n", w.MarathonURL(), w.MesosURL(), w.ArangoURL(*name), *name)
	fmt.Fprintln(stdout, "serving until interrupted (Ctrl-C)")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	w.Run(ctx)
	return 0
}
