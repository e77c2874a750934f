package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/template"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/discovery"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// emulatePolicy is the ready policy emulate writes: every emulated cluster.
var emulatePolicy = template.Must(policyTemplates.New("emulate").Parse(`# arangoscale policy for the emulated DC/OS of arangoscale emulate
clusters:
{{range .}}{{template "cluster" .}}{{end}}`))

// emulateDiscoveryPolicy is the policy of emulate --discover: one template
// that the labelled emulated clusters name.
var emulateDiscoveryPolicy = template.Must(policyTemplates.New("emulate-discover").Parse(`# arangoscale policy for the emulated DC/OS of arangoscale emulate --discover:
# its clusters are found by their Marathon labels (arangoscale.policy=emulated)
templates:
  emulated:
    interval: 15s
{{template "roles"}}
`))

type emulateOptions struct {
	trace    []byte
	speed    float64
	scale    float64
	name     string
	clusters int
	basePort int    // 0: random ports
	auth     bool   // ArangoDB basic + JWT, DC/OS token + service account
	dir      string // where the policy and credentials are written
	discover bool   // label the apps for discovery; the policy holds a template
}

// cmdEmulate serves the emulated DC/OS + ArangoDB world in real time until
// interrupted, so the controller (or curl, or go-marathon) can be pointed
// at it by hand, and prints the policy file and `run` command line to do so.
func cmdEmulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o emulateOptions
	tracePath := fs.String("trace", "", "load trace CSV (t_seconds,rps); default: the shipped one-day World Cup 98 slice")
	fs.Float64Var(&o.speed, "speed", 60, "replay the trace this many times faster than real time")
	fs.Float64Var(&o.scale, "scale-rps", 1, "multiply the trace's requests per second by this")
	fs.StringVar(&o.name, "cluster", "demo", "cluster name (Marathon apps /arangodb-<name>/coordinator and /dbserver); with --clusters N: <name>-1 … <name>-N")
	fs.IntVar(&o.clusters, "clusters", 1, "number of ArangoDB clusters in the one emulated DC/OS")
	fs.IntVar(&o.basePort, "base-port", 0, "fixed ports on 127.0.0.1: Marathon on it, Mesos +1, ArangoDB clusters +2…, agents after (0: random)")
	fs.BoolVar(&o.auth, "auth", false, "require credentials: ArangoDB basic auth and JWT, DC/OS token and service-account login")
	fs.BoolVar(&o.discover, "discover", false, "label the clusters' Marathon apps (arangoscale.policy=emulated) and write a policy with only that template, so run discovers them")
	fs.StringVar(&o.dir, "dir", "", "directory for the policy and credential files (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.clusters < 1 || o.basePort < 0 || o.basePort > 65535-(o.clusters+2+agentsFor(dcos.DefaultParams(), o.clusters).Agents) || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	o.trace = sim.DemoTrace
	if *tracePath != "" {
		b, err := os.ReadFile(*tracePath)
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale emulate: %v\n", err)
			return 1
		}
		o.trace = b
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runEmulate(ctx, o, stdout, nil); err != nil {
		fmt.Fprintf(stderr, "arangoscale emulate: %v\n", err)
		return 1
	}
	return 0
}

// emulated is what runEmulate set up, for tests.
type emulated struct {
	world *sim.World
	env   map[string]string // the ARANGOSCALE_* variables of the printed run line
	names []string
}

// runEmulate serves until ctx ends; ready, when set, is called once
// everything listens and the files are written.
func runEmulate(ctx context.Context, o emulateOptions, out io.Writer, ready func(*emulated)) error {
	tr, err := sim.ReadTrace(bytes.NewReader(o.trace))
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "arangoscale-emulate-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return err
	}
	names := []string{o.name}
	if o.clusters > 1 {
		names = names[:0]
		for i := 1; i <= o.clusters; i++ {
			names = append(names, fmt.Sprintf("%s-%d", o.name, i))
		}
	}
	p := sim.DefaultParams()
	p.DCOS = agentsFor(p.DCOS, len(names))
	if o.basePort > 0 {
		p.Addr = fixedPorts(o.basePort, names, p.DCOS.Agents)
	}
	files := map[string]string{}
	write := func(name, content string) (string, error) {
		path := filepath.Join(o.dir, name)
		if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
			return "", err
		}
		files[name] = path
		return path, nil
	}
	env := map[string]string{}
	var key *rsa.PrivateKey
	if o.auth {
		p.Arango.Username, p.Arango.Password, p.Arango.JWTSecret = "root", secret(), secret()
		p.DCOS.Token = secret()
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return err
		}
		p.DCOS.ServiceAccounts = map[string]*rsa.PublicKey{"arangoscale": &key.PublicKey}
		for _, f := range [][2]string{
			{"arangodb-password", p.Arango.Password}, {"arangodb-jwt-secret", p.Arango.JWTSecret}, {"dcos-token", p.DCOS.Token},
		} {
			if _, err := write(f[0], f[1]); err != nil {
				return err
			}
		}
	}
	specs := make([]sim.ClusterSpec, 0, len(names))
	for _, n := range names {
		spec := demoCluster(n)
		spec.Load = tr.Func(o.speed, o.scale)
		specs = append(specs, spec)
	}
	w, err := sim.NewWorld(clock.Real{}, p, specs...)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Close()

	var pol bytes.Buffer
	var entries []map[string]string
	for _, n := range names {
		entries = append(entries, map[string]string{"Name": n, "ArangoURL": w.ArangoURL(n)})
	}
	tpl := emulatePolicy
	if o.discover {
		tpl = emulateDiscoveryPolicy
		if err := labelForDiscovery(w, names); err != nil {
			return err
		}
	}
	if err := tpl.Execute(&pol, entries); err != nil {
		return err
	}
	polPath := filepath.Join(o.dir, "policies.yaml")
	if err := os.WriteFile(polPath, pol.Bytes(), 0o644); err != nil {
		return err
	}
	adminPath, err := write("admin-token", secret())
	if err != nil {
		return err
	}
	env["ARANGOSCALE_POLICY_FILE"] = polPath
	env["ARANGOSCALE_MARATHON_URL"] = w.MarathonURL()
	env["ARANGOSCALE_MESOS_URL"] = w.MesosURL()
	env["ARANGOSCALE_ADMIN_TOKEN_FILE"] = adminPath
	if o.auth {
		sa, _ := json.Marshal(map[string]string{
			"uid": "arangoscale", "scheme": "RS256", "login_endpoint": w.MarathonURL() + "/acs/api/v1/auth/login",
			"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(key)})),
		})
		saPath, err := write("dcos-service-account.json", string(sa))
		if err != nil {
			return err
		}
		env["ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE"] = saPath
		// The JWT secret, not the password: agency reads need a superuser JWT.
		env["ARANGOSCALE_ARANGODB_JWT_SECRET_FILE"] = files["arangodb-jwt-secret"]
	}

	fmt.Fprintf(out, "marathon: %s\nmesos:    %s\n", w.MarathonURL(), w.MesosURL())
	for _, n := range names {
		fmt.Fprintf(out, "arangodb: %s (cluster %q)\n", w.ArangoURL(n), n)
	}
	if o.auth {
		fmt.Fprintf(out, "auth: ArangoDB user root, password in %s, JWT secret in %s\n", files["arangodb-password"], files["arangodb-jwt-secret"])
		fmt.Fprintf(out, "      DC/OS token in %s, service account (uid arangoscale) in %s\n", files["dcos-token"], env["ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE"])
	}
	fmt.Fprintf(out, "admin token: %s\npolicy: %s\n\n%s\n", adminPath, polPath, pol.String())
	fmt.Fprintf(out, "run the controller against it with:\n\n  %s arangoscale run\n\n", envLine(env))
	fmt.Fprintln(out, "serving until interrupted (Ctrl-C)")
	if ready != nil {
		ready(&emulated{world: w, env: env, names: names})
	}
	w.Run(ctx)
	return nil
}

// agentsFor gives every emulated cluster the room of the default DC/OS (six
// 8-cpu, 32 GiB agents), so N clusters start and can grow as one does. The
// emulated Mesos has at most 30 agents (their port ranges), so past five
// clusters the agents grow instead of their number.
func agentsFor(p dcos.Params, clusters int) dcos.Params {
	d := dcos.DefaultParams()
	p.Agents = min(d.Agents*clusters, dcos.MaxAgents)
	grow := func(per float64) float64 { return math.Ceil(per * float64(d.Agents*clusters) / float64(p.Agents)) }
	p.AgentCPUs, p.AgentMemMB, p.AgentDiskMB = grow(d.AgentCPUs), grow(d.AgentMemMB), grow(d.AgentDiskMB)
	return p
}

// fixedPorts lays the services out from base: Marathon, Mesos, one
// ArangoDB endpoint per cluster, then the agents.
func fixedPorts(base int, clusters []string, agents int) func(string) string {
	port := map[string]int{dcos.ServiceMarathon: base, dcos.ServiceMesos: base + 1}
	for i, n := range clusters {
		port[sim.ArangoService(n)] = base + 2 + i
	}
	for i := range agents {
		port[dcos.AgentService(i)] = base + 2 + len(clusters) + i
	}
	return func(service string) string {
		if p, ok := port[service]; ok {
			return "127.0.0.1:" + strconv.Itoa(p)
		}
		return ""
	}
}

func envLine(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+env[k])
	}
	return strings.Join(parts, " \\\n    ")
}

func secret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustPKCS8(k *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	return b
}

// labelForDiscovery gives the emulated clusters' apps the labels package
// discovery reads; the endpoint label names the cluster's emulated
// coordinator endpoint, as a VIP name would on DC/OS.
func labelForDiscovery(w *sim.World, names []string) error {
	for _, n := range names {
		if err := w.Marathon().SetLabels(sim.CoordinatorApp(n), map[string]string{
			discovery.LabelPolicy: "emulated", discovery.LabelEndpoint: w.ArangoURL(n),
		}); err != nil {
			return err
		}
		if err := w.Marathon().SetLabels(sim.DBServerApp(n), map[string]string{discovery.LabelPolicy: "emulated"}); err != nil {
			return err
		}
	}
	return nil
}
