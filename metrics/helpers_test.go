package metrics

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

// fixtureBody returns the real DataDog v2 body with the values of some
// samples replaced. A key is either a metric name (every sample line of
// it) or a sample line prefix such as `x_bucket{le="0.01"}`.
func fixtureBody(t testing.TB, set map[string]string) string {
	t.Helper()
	body := string(readTestdata(t, "datadog_metrics_v2_single.prom"))
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if !first {
			b.WriteByte('\n')
		}
		first = false
		for k, v := range set {
			if strings.HasPrefix(line, k+" ") || strings.HasPrefix(line, k+"{") && !strings.Contains(k, "{") {
				i := strings.LastIndexByte(line, ' ')
				line = line[:i+1] + v
			} else if strings.Contains(k, "{") && strings.HasPrefix(line, k) {
				line = k + " " + v
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

// requestTimeBuckets returns overrides for the request-time histogram from
// cumulative counts of the buckets 0.01 … 30.0, +Inf.
func requestTimeBuckets(cum ...int) map[string]string {
	les := []string{"0.01", "0.05", "0.1", "0.2", "0.5", "1.0", "5.0", "15.0", "30.0", "+Inf"}
	m := map[string]string{}
	for i, le := range les {
		m[fmt.Sprintf(`%s_bucket{le="%s"}`, mRequestTime, le)] = fmt.Sprint(cum[i])
	}
	m[mRequestTime+"_count"] = fmt.Sprint(cum[len(cum)-1])
	return m
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// fakeArango is a coordinator answering /_admin/cluster/health and
// /_admin/metrics/v2?serverId=… over real HTTP.
type fakeArango struct {
	mu       sync.Mutex
	health   string
	bodies   map[string]string
	status   map[string]int
	requests []string
	srv      *httptest.Server
}

const threeServerHealth = `{"Health":{
 "CRDN-1":{"Role":"Coordinator","ShortName":"Coordinator0001","Status":"GOOD","Endpoint":"tcp://10.0.0.1:8529"},
 "PRMR-1":{"Role":"DBServer","ShortName":"DBServer0001","Status":"GOOD","Endpoint":"tcp://10.0.0.2:8530"},
 "PRMR-2":{"Role":"DBServer","ShortName":"DBServer0002","Status":"GOOD","Endpoint":"tcp://10.0.0.3:8530"},
 "AGNT-1":{"Role":"Agent","Status":"GOOD","Endpoint":"tcp://10.0.0.4:8531"}},
 "ClusterId":"c1","error":false,"code":200}`

func newFakeArango(t testing.TB) *fakeArango { return newFakeArangoWrapped(t, nil) }

// newFakeArangoWrapped puts wrap (if not nil) in front of the handler.
func newFakeArangoWrapped(t testing.TB, wrap func(http.Handler) http.Handler) *fakeArango {
	f := &fakeArango{health: threeServerHealth, bodies: map[string]string{}, status: map[string]int{}}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, r.URL.RequestURI())
		switch r.URL.Path {
		case "/_admin/cluster/health":
			if c := f.status["health"]; c != 0 {
				http.Error(w, `{"error":true}`, c)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, f.health)
		case "/_admin/metrics/v2":
			id := r.URL.Query().Get("serverId")
			if c := f.status[id]; c != 0 {
				http.Error(w, `{"error":true,"errorMessage":"boom"}`, c)
				return
			}
			b, ok := f.bodies[id]
			if !ok {
				http.Error(w, `{"error":true,"errorMessage":"unknown server"}`, http.StatusNotFound)
				return
			}
			// The shared body is a single server's; label it as the
			// asked server's role like a cluster member would.
			role := map[bool]string{true: "COORDINATOR", false: "DBSERVER"}[strings.HasPrefix(id, "CRDN")]
			b = strings.ReplaceAll(b, `role="SINGLE"`, `role="`+role+`"`)
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprint(w, b)
		default:
			http.NotFound(w, r)
		}
	})
	if wrap != nil {
		h = wrap(h)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeArango) set(id, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies[id] = body
}

func (f *fakeArango) fail(id string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[id] = code
}

// blockHandler makes every request wait until release is closed or the
// client gives up.
func blockHandler(release chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
}
