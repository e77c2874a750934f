package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

const goodPolicy = `clusters:
  - name: prod
    arangodb:
      endpoints: [ARANGO]
    marathon:
      coordinators: /arangodb-prod/coordinator
    roles:
      coordinators:
        min: 2
        max: 4
        metrics:
          - signal: cpu_utilization
            target: 0.7
`

// TestRunReloadTriggers runs the production entry point against the
// emulated world and reloads its policy by POST /-/reload (guarded by the
// admin token), by SIGHUP and by replacing the file with a rename.
func TestRunReloadTriggers(t *testing.T) {
	world, err := sim.NewWorld(clock.Real{}, sim.DefaultParams(), sim.ClusterSpec{Name: "prod", Coordinators: 2, DBServers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(); err != nil {
		t.Fatal(err)
	}
	defer world.Close()
	dir := t.TempDir()
	polPath := filepath.Join(dir, "policies.yaml")
	write := func(content string) {
		t.Helper()
		tmp := filepath.Join(dir, ".tmp")
		if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(content, "ARANGO", world.ArangoURL("prod"))), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, polPath); err != nil { // how config mounts swap files
			t.Fatal(err)
		}
	}
	write(goodPolicy)
	tokenPath := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenPath, []byte("s3cret-admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARANGOSCALE_POLICY_FILE", polPath)
	t.Setenv("ARANGOSCALE_MARATHON_URL", world.MarathonURL())
	t.Setenv("ARANGOSCALE_MESOS_URL", world.MesosURL())
	t.Setenv("ARANGOSCALE_LISTEN", "127.0.0.1:0")
	t.Setenv("ARANGOSCALE_ADMIN_TOKEN_FILE", tokenPath)
	t.Setenv("ARANGOSCALE_LOG_FORMAT", "text")

	addrc := make(chan string, 1)
	policies := make(chan *policy.Config, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &syncWriter{w: &bytes.Buffer{}}
	go func() {
		done <- runController(ctx, logs, runHooks{
			listening: func(a string) { addrc <- a },
			policy:    func(p *policy.Config) { policies <- p },
		})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("run exited %d", code)
		}
		if strings.Contains(logs.String(), "s3cret-admin") {
			t.Error("the admin token appears in the logs")
		}
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case code := <-done:
		t.Fatalf("run exited %d before listening", code)
	}
	waitPolicy := func(what string, maxCoords int) {
		t.Helper()
		select {
		case p := <-policies:
			if got := p.Clusters[0].Roles[policy.Coordinators].Max; got != maxCoords {
				t.Fatalf("%s: max %d, want %d", what, got, maxCoords)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no reload", what)
		}
	}
	post := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/-/reload", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, _ := post(""); code != http.StatusUnauthorized {
		t.Fatalf("reload without token: %d, want 401", code)
	}
	if code, _ := post("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("reload with a wrong token: %d, want 401", code)
	}

	// A bad policy is rejected whole with its positions; the old one stays.
	write(strings.Replace(goodPolicy, "max: 4", "max: 1", 1))
	code, body := post("s3cret-admin")
	if code != http.StatusBadRequest || !strings.Contains(body, "policies.yaml:") {
		t.Fatalf("bad policy: %d %q, want 400 with file:line:col", code, body)
	}
	if code, m := getURL(t, base+"/metrics"); code != 200 || !strings.Contains(m, "arangoscale_config_last_reload_successful 0") {
		t.Errorf("reload metric not 0 after a rejected policy")
	}
	var st struct {
		Reload *struct {
			OK       bool      `json:"ok"`
			LoadedAt time.Time `json:"loaded_at"`
			Errors   []string  `json:"errors"`
		} `json:"reload"`
	}
	if _, s := getURL(t, base+"/status"); json.Unmarshal([]byte(s), &st) != nil || st.Reload == nil || st.Reload.OK ||
		st.Reload.LoadedAt.IsZero() || len(st.Reload.Errors) == 0 || !strings.Contains(st.Reload.Errors[0], "policies.yaml:") {
		t.Errorf("/status lacks the rejected reload: %s", s)
	}
	// The status page at / is served by run, and says so too.
	if code, page := getURL(t, base+"/"); code != 200 || !strings.Contains(page, "Policy rejected") ||
		!strings.Contains(page, "policies.yaml:") || !strings.Contains(page, `id="role-coordinators"`) {
		t.Errorf("status page at /: %d, without the roles or the rejected policy", code)
	}

	// A good one by POST …
	write(strings.Replace(goodPolicy, "max: 4", "max: 5", 1))
	if code, body := post("s3cret-admin"); code != 200 {
		t.Fatalf("good policy: %d %s", code, body)
	}
	waitPolicy("POST /-/reload", 5)
	// … by SIGHUP …
	write(strings.Replace(goodPolicy, "max: 4", "max: 6", 1))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitPolicy("SIGHUP or file watch", 6)
	// … and by the file watch alone.
	write(strings.Replace(goodPolicy, "max: 4", "max: 7", 1))
	waitPolicy("file watch", 7)
}

func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunRefusesUnknownVariable: a misspelled variable stops the start
// with one line naming it and the closest known name.
func TestRunRefusesUnknownVariable(t *testing.T) {
	t.Setenv("ARANGOSCALE_INTERVL", "5s")
	var stderr bytes.Buffer
	if code := runController(context.Background(), &stderr, runHooks{}); code != 2 {
		t.Fatalf("exit %d, want 2; %s", code, stderr.String())
	}
	if got := stderr.String(); got != "arangoscale: ARANGOSCALE_INTERVL: unknown variable; did you mean ARANGOSCALE_INTERVAL?\n" {
		t.Fatalf("stderr %q", got)
	}
}
