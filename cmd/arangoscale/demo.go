package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/statuspage"
)

// demoPolicy is the policy the demo runs; endpoints are filled in from the
// emulated world.
var demoPolicy = template.Must(policyTemplates.New("demo").Parse(`# arangoscale demo policy
clusters:
{{template "cluster" .}}`))

// policyTemplates hold one policy cluster entry ("cluster", given Name and
// ArangoURL) shared by the demo and emulate.
var policyTemplates = template.Must(template.Must(template.New("cluster").Parse(`  - name: {{.Name}}
    interval: 15s
    arangodb:
      endpoints: [{{.ArangoURL}}]
    marathon:
      coordinators: /arangodb-{{.Name}}/coordinator
      dbservers: /arangodb-{{.Name}}/dbserver
{{template "roles"}}
`)).New("roles").Parse(`    roles:
      coordinators:
        min: 2
        max: 12
        metrics:
          - signal: cpu_utilization
            target: 0.65
          - signal: requests_per_second
            target_per_instance: 650
        stabilization: {up: 0s, down: 5m}
        cooldown: {up: 1m, down: 5m}
      dbservers:
        min: 3
        max: 8
        metrics:
          - signal: cpu_utilization
            target: 0.70
          - signal: disk_utilization
            target: 0.80
        stabilization: {up: 0s, down: 10m}
        cooldown: {up: 3m, down: 10m}
        step: {up: 1, down: 1}`))

// demoCluster is the emulated cluster of demo and emulate: two
// coordinators, three DB servers and collections with replication
// factors 1, 2 and 3 so a careless scale-down would lose data.
func demoCluster(name string) sim.ClusterSpec {
	return sim.ClusterSpec{
		Name:         name,
		Coordinators: 2,
		DBServers:    3,
		Collections: []arango.CollectionSpec{
			{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 24 << 30},
			{Database: "_system", Name: "sessions", NumberOfShards: 3, ReplicationFactor: 1, WriteConcern: 1, SizeBytes: 2 << 30},
			{Database: "_system", Name: "users", NumberOfShards: 3, ReplicationFactor: 3, WriteConcern: 2, SizeBytes: 6 << 30},
		},
	}
}

type demoOptions struct {
	duration time.Duration // virtual
	wall     time.Duration // pacing: the whole run takes about this long
	listen   string
	speed    float64
	scale    float64
	skip     time.Duration // trace time skipped at the start
	policy   string        // a policy file for cluster "demo" instead of the built-in one
}

// cmdDemo runs the controller over HTTP against the emulated world on a
// compressed real trace, in virtual time paced to about a minute of wall
// time, printing every decision as it happens.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demoOptions
	fs.DurationVar(&o.duration, "duration", 4*time.Hour, "virtual time to run")
	fs.DurationVar(&o.wall, "wall", 20*time.Second, "wall time the run is paced to (0: as fast as possible)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address for /status and /metrics")
	fs.Float64Var(&o.speed, "speed", 3, "trace compression: trace seconds per virtual second")
	fs.Float64Var(&o.scale, "scale-rps", 2.5, "multiply the trace's requests per second by this")
	fs.DurationVar(&o.skip, "skip", 12*time.Hour, "trace time to skip at the start (the quiet night)")
	fs.StringVar(&o.policy, "policy", "", "policy file to run instead of the built-in one (one cluster named demo; its arangodb endpoints are replaced by the emulated one)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runDemo(ctx, o, stdout); err != nil {
		fmt.Fprintf(stderr, "arangoscale demo: %v\n", err)
		return 1
	}
	return 0
}

func runDemo(ctx context.Context, o demoOptions, out io.Writer) error {
	tr, err := sim.ReadTrace(bytes.NewReader(sim.DemoTrace))
	if err != nil {
		return fmt.Errorf("demo trace: %w", err)
	}
	base := tr.Func(o.speed, o.scale)
	skip := time.Duration(float64(o.skip) / o.speed)
	spec := demoCluster("demo")
	spec.Load = func(el time.Duration) float64 { return base(el + skip) }

	start := time.Date(2026, 6, 23, 12, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	world, err := sim.NewWorld(clk, sim.DefaultParams(), spec)
	if err != nil {
		return err
	}
	if err := world.Start(); err != nil {
		return err
	}
	defer world.Close()

	p, text, err := demoPolicyFor(o.policy, world.ArangoURL("demo"))
	if err != nil {
		return err
	}
	w := &controller.Setup{
		MarathonURL: world.MarathonURL(),
		MesosURL:    world.MesosURL(),
		Clock:       clk,
		Logger:      slog.New(&decisionPrinter{out: out, clk: clk, start: start}),
		Interval:    15 * time.Second,
		Backoff:     controller.BackoffSettings{NoJitter: true},
	}
	w.Version, w.Commit = version, commit
	ctl, err := w.Build()
	if err != nil {
		return err
	}
	if err := ctl.SetPolicy(p); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	hist := statuspage.NewHistory(statuspage.HistoryOptions{})
	srv := controller.NewServer(withStatusPage(ctl, controller.HTTPOptions{}, hist, nil))
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	fmt.Fprintf(out, "arangoscale demo: one emulated DC/OS + ArangoDB cluster, real controller over HTTP\n")
	fmt.Fprintf(out, "  marathon %s · mesos %s · arangodb %s\n", world.MarathonURL(), world.MesosURL(), world.ArangoURL("demo"))
	fmt.Fprintf(out, "  status page http://%s/ · /status http://%s/status · metrics http://%s/metrics\n", ln.Addr(), ln.Addr(), ln.Addr())
	fmt.Fprintf(out, "  %s of a World Cup 98 day (×%.0f faster, ×%.1f rps) in virtual time, paced to %s\n\n", o.duration, o.speed, o.scale, o.wall)
	if o.policy != "" {
		fmt.Fprintf(out, "policy %s (arangodb endpoints set to the emulated %s):\n%s\n", o.policy, world.ArangoURL("demo"), text)
	} else {
		fmt.Fprintf(out, "policy (built in; save it, edit it and pass it with --policy):\n%s\n", text)
	}

	rep := &demoReport{}
	const step = 15 * time.Second
	steps := int(o.duration / step)
	wallStart := time.Now()
	for i := 1; i <= steps; i++ {
		if ctx.Err() != nil {
			break
		}
		world.Advance(step)
		ctl.Step(ctx, true)
		hist.Record(ctl.Status())
		st := world.State("demo")
		rep.add(st, step)
		if i%int((30*time.Minute)/step) == 0 {
			fmt.Fprintln(out, summaryLine(clk.Now().Sub(start), st))
		}
		if o.wall > 0 {
			due := wallStart.Add(time.Duration(float64(o.wall) * float64(i) / float64(steps)))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
		}
	}
	fmt.Fprintln(out)
	rep.print(out, ctl, len(world.Losses()))
	if n := len(world.Losses()); n > 0 {
		return errors.New("shards were lost")
	}
	return nil
}

// demoPolicyFor loads the demo's policy: the built-in one, or the file,
// which must have exactly the one cluster "demo". It returns the text too,
// to print.
func demoPolicyFor(path, arangoURL string) (*policy.Config, string, error) {
	if path == "" {
		var pol bytes.Buffer
		if err := demoPolicy.Execute(&pol, map[string]string{"Name": "demo", "ArangoURL": arangoURL}); err != nil {
			return nil, "", err
		}
		p, err := policy.Load("demo-policy.yaml", pol.Bytes())
		if err != nil {
			return nil, "", fmt.Errorf("demo policy: %w", err)
		}
		return p, pol.String(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("--policy: %w", err)
	}
	p, err := policy.Load(path, data)
	if err != nil {
		return nil, "", fmt.Errorf("--policy rejected:\n%w", err)
	}
	if len(p.Clusters) != 1 || p.Clusters[0].Name != "demo" {
		return nil, "", fmt.Errorf("--policy %s: the demo emulates one cluster named \"demo\"; the file must have exactly that one", path)
	}
	p.Clusters[0].ArangoDB.Endpoints = []string{arangoURL}
	return p, string(data), nil
}

func summaryLine(el time.Duration, st sim.ClusterState) string {
	flag := ""
	if st.Overloaded {
		flag = "  OVERLOADED"
	}
	return fmt.Sprintf("%s │ load %5.0f rps │ coordinators %2d/%-2d util %3.0f%% │ dbservers %d/%d util %3.0f%% │ p95 %4.0f ms%s",
		clockString(el), st.Offered,
		st.Coordinators.Healthy, st.Coordinators.Target, st.CoordinatorUtil*100,
		st.DBServers.Healthy, st.DBServers.Target, st.DBServerUtil*100,
		st.LatencyP95*1000, flag)
}

func clockString(el time.Duration) string {
	return fmt.Sprintf("+%02d:%02d", int(el.Hours()), int(el.Minutes())%60)
}

// demoReport sums what the run cost and how it served.
type demoReport struct {
	coordMinutes, dbMinutes, overloadMinutes float64
}

func (r *demoReport) add(st sim.ClusterState, d time.Duration) {
	m := d.Minutes()
	r.coordMinutes += float64(st.Coordinators.Running) * m
	r.dbMinutes += float64(st.DBServers.Running) * m
	if st.Overloaded {
		r.overloadMinutes += m
	}
}

func (r *demoReport) print(out io.Writer, ctl *controller.Controller, lost int) {
	actions := map[string]int{}
	mfs, _ := ctl.Registry().Gather()
	for _, mf := range mfs {
		if mf.GetName() != "arangoscale_scale_actions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var role, dir, result string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "role":
					role = l.GetValue()
				case "direction":
					dir = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			actions[fmt.Sprintf("%s %s (%s)", role, dir, result)] += int(m.GetCounter().GetValue())
		}
	}
	fmt.Fprintln(out, "report")
	var parts []string
	for k, v := range actions {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", k, v))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	sort.Strings(parts)
	fmt.Fprintf(out, "  scaling actions   %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(out, "  instance-minutes  coordinators %.0f, dbservers %.0f\n", r.coordMinutes, r.dbMinutes)
	fmt.Fprintf(out, "  overload minutes  %.1f\n", r.overloadMinutes)
	fmt.Fprintf(out, "  lost shards       %d\n", lost)
}

// decisionPrinter is the demo's log handler: decisions and saga steps as
// one readable line each, stamped with virtual time; the rest is dropped.
type decisionPrinter struct {
	out   io.Writer
	clk   clock.Clock
	start time.Time
	attrs []slog.Attr
}

func (h *decisionPrinter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *decisionPrinter) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(clockString(h.clk.Now().Sub(h.start)))
	b.WriteString(" ▶ ")
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		if a.Key == "cluster" {
			return true
		}
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	_, err := io.WriteString(h.out, b.String())
	return err
}

func (h *decisionPrinter) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

func (h *decisionPrinter) WithGroup(string) slog.Handler { return h }
