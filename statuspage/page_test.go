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
