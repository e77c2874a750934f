package marathon_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// Drives the DC/OS emulator through the wrapper the way the controller
// does: service-account login, scale → deployment → 409 while it runs →
// tasks → kill one exact task with scale=true → queue when the cluster is
// full.
func TestAgainstEmulator(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	const appID = "/arangodb-prod/dbserver"
	cl, err := dcos.New(clk, dcos.Params{
		Agents: 2, AgentCPUs: 8, AgentMemMB: 65536,
		Token:           "emulated-acs-token",
		ServiceAccounts: map[string]*rsa.PublicKey{"arangoscale": &key.PublicKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.AddApp(dcos.AppSpec{ID: appID, Instances: 2, CPUs: 2, MemMB: 4096, DiskMB: 1024}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cl.MarathonHandler())
	defer srv.Close()
	advance := func(d time.Duration) { cl.Step(clk.Advance(d)) }
	advance(time.Minute)

	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := json.Marshal(map[string]string{
		"uid": "arangoscale", "scheme": "RS256", "login_endpoint": "https://leader.mesos/acs/api/v1/auth/login",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
	ts, err := marathon.NewServiceAccount(acc, srv.Client(), clk, marathon.WithLoginURL(srv.URL+"/acs/api/v1/auth/login"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := marathon.New(marathon.Config{URL: srv.URL + "/service/marathon", HTTPClient: srv.Client(), Auth: ts})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	app, err := c.App(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	if app.Instances != 2 || app.TasksHealthy != 2 || len(app.Tasks) != 2 || len(app.Deployments) != 0 {
		t.Fatalf("initial app %+v", app)
	}
	for _, tk := range app.Tasks {
		if !strings.HasPrefix(tk.ID, "arangodb-prod_dbserver.instance-") || !tk.Healthy || tk.AgentID == "" || tk.AppID != appID {
			t.Errorf("task %+v", tk)
		}
	}

	// Scale up: a deployment runs, and the app is locked meanwhile.
	dep, err := c.Scale(ctx, appID, 3, false)
	if err != nil || dep == "" {
		t.Fatalf("scale: %q %v", dep, err)
	}
	deps, err := c.Deployments(ctx)
	if err != nil || len(deps) != 1 || deps[0].ID != dep || !slices.Equal(deps[0].AffectedApps, []string{appID}) {
		t.Fatalf("deployments %+v %v", deps, err)
	}
	if app, err = c.App(ctx, appID); err != nil || !slices.Equal(app.Deployments, []string{dep}) || app.LastScalingAt.IsZero() {
		t.Fatalf("app during deployment %+v %v", app, err)
	}
	_, err = c.Scale(ctx, appID, 4, false)
	var ae *marathon.APIError
	if !errors.Is(err, marathon.ErrLocked) || !errors.As(err, &ae) || !slices.Equal(ae.Deployments, []string{dep}) {
		t.Fatalf("scale while locked: %v", err)
	}
	advance(time.Minute)
	if deps, err = c.Deployments(ctx); err != nil || len(deps) != 0 {
		t.Fatalf("deployments after convergence %+v %v", deps, err)
	}
	app, err = c.App(ctx, appID)
	if err != nil || app.Instances != 3 || app.TasksHealthy != 3 || len(app.Tasks) != 3 {
		t.Fatalf("app after scale up %+v %v", app, err)
	}

	// Kill exactly one task with scale=true: not replaced.
	victim := app.Tasks[1].ID
	if err := c.KillTasks(ctx, []string{victim}, true); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	app, err = c.App(ctx, appID)
	if err != nil || app.Instances != 2 || len(app.Tasks) != 2 {
		t.Fatalf("app after kill %+v %v", app, err)
	}
	for _, tk := range app.Tasks {
		if tk.ID == victim {
			t.Errorf("killed task %s still there", victim)
		}
	}
	// Marathon ignores ids it does not know and lowers the count only for
	// tasks it still runs (TasksResource.killTasks): 200, nothing changes.
	if err := c.KillTasks(ctx, []string{victim}, true); err != nil {
		t.Errorf("kill of a gone task: %v", err)
	}
	if app, err = c.App(ctx, appID); err != nil || app.Instances != 2 {
		t.Fatalf("a kill of a gone task changed the app: %+v %v", app, err)
	}

	// More than fits: the rest waits in the queue for lack of cpus.
	if _, err := c.Scale(ctx, appID, 10, false); err != nil {
		t.Fatal(err)
	}
	advance(time.Second)
	q, err := c.Queue(ctx)
	if err != nil || len(q) != 1 || q[0].AppID != appID || q[0].Count != 2 || !slices.Contains(q[0].Reasons, "InsufficientCpus") {
		t.Fatalf("queue %+v %v", q, err)
	}
	if _, err := c.App(ctx, "/arangodb-prod/nope"); !errors.Is(err, marathon.ErrNotFound) {
		t.Errorf("unknown app: %v", err)
	}
}
