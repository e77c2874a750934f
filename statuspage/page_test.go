package statuspage

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
)

func TestPageBehindPrefix(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	st := status(at, 3, 4, "up", "metrics")
	st.Clusters[0].Saga = controller.SagaStatus{Step: "cleaning_out", Server: "PRMR-1"}
	backoff := at.Add(40 * time.Second)
	st.Clusters[0].Roles[0].BackoffUntil = &backoff
	st.Clusters[0].Roles[0].Errors = []string{"marathon: PUT /v2/apps: 503 <busy>"}
	h := NewHistory(HistoryOptions{})
	h.Record(st)
	srv := httptest.NewServer(Handler(func() controller.Status { return st }, h, Options{}))
	defer srv.Close()
	get := func(path, prefix string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		if prefix != "" {
			req.Header.Set("X-Forwarded-Prefix", prefix)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/", "/service/arangoscale")
	if code != 200 || !strings.Contains(body, `<base href="/service/arangoscale/">`) {
		t.Fatalf("%d, no base for the prefix:\n%.400s", code, body)
	}
	for _, want := range []string{`href="assets/style.css"`, `href="status"`, "cleaning_out", "PRMR-1", "<svg", "metrics",
		"backing off until 12:00:40", "503 &lt;busy&gt;", "0.5 / 0.65"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Count(body, `href="/`) != 1 { // the <base> only
		t.Error("an absolute link would leave the admin router's prefix")
	}
	// A prefix that is not a plain path is ignored, never echoed.
	if _, body := get("/", `/x"><script>alert(1)</script>`); !strings.Contains(body, `<base href="./">`) || strings.Contains(body, "<script>") {
		t.Error("a hostile X-Forwarded-Prefix reached the page")
	}
	if code, css := get("/assets/style.css", ""); code != 200 || !strings.Contains(css, "--cur") {
		t.Errorf("stylesheet: %d", code)
	}
	if code, _ := get("/nothing", ""); code != 404 {
		t.Errorf("/nothing: %d", code)
	}
}

// The SLO model and the forecast of a role are on the page: what was
// learned and needed when ready, why not otherwise, and whether the
// forecast took part.
func TestPageShowsCapacityAndForecast(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	st := status(at, 3, 4, "up", "slo")
	db := st.Clusters[0].Roles[0]
	db.Role = "dbservers"
	st.Clusters[0].Roles = append(st.Clusters[0].Roles, db)
	demand, now, wape := 1800.0, 1500.0, 0.12
	coord := &st.Clusters[0].Roles[0]
	coord.Capacity = &controller.CapacityStatus{Ready: true, Decided: true, DemandRPS: 1500, CapacityPerInstance: 620,
		UtilizationTarget: 0.85, Headroom: 1.18, Needed: 4, Samples: 240}
	coord.Forecast = &controller.ForecastStatus{Mode: "forecast_and_scale", Season: "daily", Source: "observed",
		Now: &now, Demand: &demand, Lead: "10m", Error: &wape, MaxError: 0.3, Used: true, Desired: 4}
	dbs := &st.Clusters[0].Roles[1]
	dbs.Capacity = &controller.CapacityStatus{NotReady: "too_few_samples", Samples: 3}
	dbs.Forecast = &controller.ForecastStatus{Mode: "forecast_and_scale", Season: "weekly", Source: "prometheus",
		Lead: "10m", MaxError: 0.3, Reason: "forecast_untrained", HistoryError: "prometheus: 503"}
	h := NewHistory(HistoryOptions{})
	h.Record(st)
	srv := httptest.NewServer(Handler(func() controller.Status { return st }, h, Options{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	section := func(id string) string {
		i := strings.Index(body, `id="`+id+`"`)
		if i < 0 {
			t.Fatalf("no %s on the page:\n%s", id, body)
		}
		j := strings.Index(body[i:], "</div>\n")
		return body[i : i+j]
	}
	for id, wants := range map[string][]string{
		"capacity-coordinators": {"1500 rps", "<b>decided</b>", "620 rps at cpu 1.0", "operating point 85%", "headroom ×1.18", "needs <b>4</b>", "240 samples"},
		"capacity-dbservers":    {"not ready", "too_few_samples", "the metrics decide"},
		"forecast-coordinators": {"forecast_and_scale, daily, from observed", "1800 rps over the next 10m", "now 1500 rps", "error 12% (max 30%)", "→ <b>4</b>"},
		"forecast-dbservers":    {"weekly, from prometheus", "none yet", "ignored: forecast_untrained", "history: prometheus: 503"},
	} {
		s := section(id)
		for _, w := range wants {
			if !strings.Contains(s, w) {
				t.Errorf("%s lacks %q:\n%s", id, w, s)
			}
		}
	}
}
