package statuspage_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/statuspage"
)

const testPolicy = `clusters:
  - name: shop
    interval: 15s
    arangodb:
      endpoints: [ARANGO_URL]
    marathon:
      coordinators: /arangodb-shop/coordinator
      dbservers: /arangodb-shop/dbserver
    roles:
      coordinators:
        min: 2
        max: 8
        metrics:
          - {signal: cpu_utilization, target: 0.65}
          - {signal: requests_per_second, target_per_instance: 650}
        cooldown: {up: 1m, down: 5m}
        slo: {latency_p95: 500ms}
      dbservers:
        min: 3
        max: 6
        metrics:
          - {signal: disk_utilization, target: 0.80}
        step: {up: 1, down: 1}
`

// rig is the real controller against the emulated DC/OS + ArangoDB in
// virtual time, its endpoints and the status page served as arangoscale
// serves them, behind a proxy that plays the DC/OS admin router.
type rig struct {
	world *sim.World
	clk   *clock.Virtual
	ctl   *controller.Controller
	hist  *statuspage.History
	// PageURL is the page as the admin router serves it.
	PageURL string
}

func newRig(t *testing.T, load sim.LoadFunc) *rig {
	t.Helper()
	start := time.Date(2026, 6, 23, 12, 0, 0, 0, time.UTC)
	clk := clock.NewVirtual(start)
	spec := sim.ClusterSpec{
		Name: "shop", Coordinators: 2, DBServers: 3,
		Collections: []arango.CollectionSpec{
			{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 24 << 30},
		},
		Load: load,
	}
	world, err := sim.NewWorld(clk, sim.DefaultParams(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(world.Close)
	p, err := policy.Load("policy.yaml", []byte(strings.ReplaceAll(testPolicy, "ARANGO_URL", world.ArangoURL("shop"))))
	if err != nil {
		t.Fatal(err)
	}
	w := &controller.Setup{MarathonURL: world.MarathonURL(), MesosURL: world.MesosURL(), Clock: clk,
		Interval: 15 * time.Second, Backoff: controller.BackoffSettings{NoJitter: true}}
	ctl, err := w.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.SetPolicy(p); err != nil {
		t.Fatal(err)
	}
	r := &rig{world: world, clk: clk, ctl: ctl, hist: statuspage.NewHistory(statuspage.HistoryOptions{Window: 2 * time.Hour})}

	page := statuspage.Handler(ctl.Status, r.hist, statuspage.Options{})
	mux := http.NewServeMux()
	mux.Handle("/", ctl.Handler(controller.HTTPOptions{}))
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /assets/", page)
	backend := httptest.NewServer(mux)
	t.Cleanup(backend.Close)

	// The admin router serves the app at /service/<name>/ and strips the
	// prefix before it forwards the request.
	target, _ := url.Parse(backend.URL)
	const prefix = "/service/arangoscale"
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
		if pr.Out.URL.Path == "" {
			pr.Out.URL.Path = "/"
		}
		pr.Out.URL.RawPath = ""
		pr.SetXForwarded()
		pr.Out.Header.Set("X-Forwarded-Prefix", prefix)
	}}
	front := http.NewServeMux()
	front.Handle(prefix+"/", proxy)
	front.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not behind the admin router prefix: "+r.URL.Path, http.StatusNotFound)
	})
	router := httptest.NewServer(front)
	t.Cleanup(router.Close)
	r.PageURL = router.URL + prefix + "/"
	return r
}

// step advances virtual time by one interval and reconciles, then
// records the history as arangoscale does every interval.
func (r *rig) step(t *testing.T) {
	t.Helper()
	r.world.Advance(15 * time.Second)
	r.ctl.Step(t.Context(), true)
	r.hist.Record(r.ctl.Status())
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found; .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("install chromium: apt-get install chromium")
	return ""
}

func outputDir(t *testing.T) string {
	if d := os.Getenv("TEST_OUTPUT"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func TestStatusPageInChromium(t *testing.T) {
	bin := chromium(t)
	// A rising load: the coordinators have to scale up.
	r := newRig(t, func(el time.Duration) float64 { return 1800 + 60*el.Minutes() })
	// Two reconciles give the rates; then the coordinators scale up for
	// the rising load.
	for range 8 {
		r.step(t)
	}

	ctx := browser(t, bin)

	if err := chromedp.Do(ctx, chromedp.Navigate(r.PageURL), chromedp.WaitVisible("#role-dbservers")); err != nil {
		t.Fatal(err)
	}
	coord := run(t, ctx, chromedp.Text("#role-coordinators"))
	db := run(t, ctx, chromedp.Text("#role-dbservers"))
	decisions := run(t, ctx, chromedp.Text("#decisions"))
	now1 := run(t, ctx, chromedp.Text("#now"))
	// The stylesheet came through the prefix: the header has its colour.
	headerBG := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header")).backgroundColor`))
	statusHref := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("nav a").href`))
	for _, want := range []string{"coordinators", "/arangodb-shop/coordinator", "requests_per_second", "cpu_utilization"} {
		if !strings.Contains(coord, want) {
			t.Errorf("coordinators card lacks %q:\n%s", want, coord)
		}
	}
	// Two virtual minutes are too few to learn one instance: the SLO model
	// says so and the metrics decide.
	if model := run(t, ctx, chromedp.Text("#capacity-coordinators")); !strings.Contains(model, "not ready") || !strings.Contains(model, "the metrics decide") {
		t.Errorf("SLO model of the coordinators: %q, want not ready", model)
	}
	for _, want := range []string{"dbservers", "/arangodb-shop/dbserver", "disk_utilization"} {
		if !strings.Contains(db, want) {
			t.Errorf("dbservers card lacks %q:\n%s", want, db)
		}
	}
	if d := strings.ToLower(decisions); !strings.Contains(d, "coordinators\t2 → 3\tup\tmetrics") {
		t.Errorf("no coordinators scale-up with reason metrics in the decisions:\n%s", decisions)
	}
	if headerBG != "rgb(36, 52, 71)" {
		t.Errorf("header background %q: the stylesheet did not load through the prefix", headerBG)
	}
	if u, _ := url.Parse(r.PageURL); statusHref != u.String()+"status" {
		t.Errorf("link to /status is %q, want it under the prefix %s", statusHref, r.PageURL)
	}

	// The next reconciles show on the next load of the page.
	before := len(r.hist.Decisions())
	for range 16 {
		r.step(t)
	}
	if len(r.hist.Decisions()) == before {
		t.Fatal("no new decision in four virtual minutes of rising load")
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible("#role-dbservers")); err != nil {
		t.Fatal(err)
	}
	now2 := run(t, ctx, chromedp.Text("#now"))
	decisions2 := run(t, ctx, chromedp.Text("#decisions"))
	rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#decisions tr.decision").length`))
	shot := run(t, ctx, chromedp.FullScreenshot(100))
	if now2 == now1 {
		t.Errorf("page time still %s after four virtual minutes", now1)
	}
	if want := r.clk.Now().UTC().Format("15:04:05"); !strings.Contains(now2, want) {
		t.Errorf("page time %q, want the controller's %s", now2, want)
	}
	if rows != len(r.hist.Decisions()) || decisions2 == decisions {
		t.Errorf("decision rows %d (history %d); the list did not change after the reconciles", rows, len(r.hist.Decisions()))
	}
	path := filepath.Join(outputDir(t), "status-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// browser starts headless Chromium for the test, offline and with a fresh
// profile.
func browser(t *testing.T, bin string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancel(); cancelCtx(); cancelAlloc() })
	return ctx

}

// TestStatusPageScreenshot makes docs/status-page.png: two virtual hours
// of a load wave. It runs only when SCREENSHOT_OUT names the file.
func TestStatusPageScreenshot(t *testing.T) {
	out := os.Getenv("SCREENSHOT_OUT")
	if out == "" {
		t.Skip("set SCREENSHOT_OUT=docs/status-page.png to make the README's screenshot")
	}
	bin := chromium(t)
	r := newRig(t, func(el time.Duration) float64 {
		return 1500 + 2200*math.Sin(math.Pi*min(el.Hours()/1.6, 1))
	})
	for range 2 * 60 * 4 {
		r.step(t)
	}
	ctx := browser(t, bin)
	if err := chromedp.Do(ctx, chromedp.Navigate(r.PageURL), chromedp.WaitVisible("#role-dbservers")); err != nil {
		t.Fatal(err)
	}
	shot := run(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
