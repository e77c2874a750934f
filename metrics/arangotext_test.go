package metrics

import (
	"bytes"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDataDogBody(t *testing.T) {
	body := readTestdata(t, "datadog_metrics_v2_single.prom")
	if body[len(body)-1] == '\n' {
		t.Fatal("fixture expected without final newline")
	}
	s, err := parseArangoMetrics(body)
	if err != nil {
		t.Fatal(err)
	}
	if s.role != "SINGLE" {
		t.Errorf("role = %q", s.role)
	}
	want := map[string]float64{
		mRequests: 13, mQueue: 0, mFreeDisk: 21706735616, mTotalDisk: 109647159296,
		mRSS: 174575616, mPhysMem: 20992643072, mUserTime: 2.68, mSystemTime: 14.92, mCPUCores: 5,
	}
	for k, w := range want {
		if g, ok := s.values[k]; !ok || g != w {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
	if _, ok := s.values[mShards]; ok {
		t.Errorf("single server has no %s", mShards)
	}
	if !s.histOK || len(s.hist.bounds) != 10 || s.hist.cum[9] != 13 || !math.IsInf(s.hist.bounds[9], 1) {
		t.Errorf("histogram = %+v ok=%v %s", s.hist, s.histOK, s.histWhy)
	}
	if s.suspect != "rocksdb_engine_throttle_bps" {
		t.Errorf("suspect = %q", s.suspect)
	}
}

func TestParseNoSpaceBeforeValue(t *testing.T) {
	// ArangoDB 3.10.0–3.10.5 printed no blank between "}" and the value.
	body := "# TYPE arangodb_scheduler_queue_length gauge\narangodb_scheduler_queue_length{role=\"COORDINATOR\"}7\n" +
		"# TYPE arangodb_http_request_statistics_total_requests_total counter\narangodb_http_request_statistics_total_requests_total{role=\"COORDINATOR\"}1234\n"
	s, err := parseArangoMetrics([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if s.values[mQueue] != 7 || s.values[mRequests] != 1234 || s.role != "COORDINATOR" {
		t.Errorf("got %+v role %q", s.values, s.role)
	}
}

func TestParseTruncatedLastLine(t *testing.T) {
	body := "# TYPE arangodb_scheduler_queue_length gauge\narangodb_scheduler_queue_length 7\n" +
		"# TYPE arangodb_http_request_statistics_total_requests_total counter\narangodb_http_request_statistics_total_requests_total 12" // cut from 1234
	s, err := parseArangoMetrics([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.values[mRequests]; ok {
		t.Error("value of an unterminated last line used")
	}
	if s.values[mQueue] != 7 {
		t.Error("complete lines lost")
	}
}

func TestParseTruncatedHistogram(t *testing.T) {
	full := readTestdata(t, "datadog_metrics_v2_single.prom")
	i := bytes.Index(full, []byte(`arangodb_client_connection_statistics_request_time_bucket{le="1.0"}`))
	s, err := parseArangoMetrics(full[:i]) // ends at a line boundary
	if err != nil {
		t.Fatal(err)
	}
	if s.histOK {
		t.Error("incomplete histogram accepted")
	}
	if _, ok := s.values[mRequests]; ok {
		t.Error("family after the cut present")
	}
}

func TestParseGarbled(t *testing.T) {
	for name, body := range map[string]string{
		"empty":     "",
		"blank":     "\n\n",
		"html":      "<html><body>502 Bad Gateway</body></html>\n",
		"bad value": "arangodb_scheduler_queue_length abc\n",
		"bad label": "arangodb_scheduler_queue_length{role=\"CO\n",
		"cut label": "arangodb_scheduler_queue_length{role=\"CO",
		"json":      `{"error":true,"code":503}`,
	} {
		_, err := parseArangoMetrics([]byte(body))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !errors.Is(err, ErrBadBody) && !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: %v is neither ErrBadBody nor ErrTruncated", name, err)
		}
	}
}

func TestDeltaQuantile(t *testing.T) {
	inf := math.Inf(1)
	b := []float64{0.01, 0.05, 0.1, inf}
	prev := histogram{bounds: b, cum: []float64{10, 10, 10, 10}}
	cur := histogram{bounds: b, cum: []float64{10, 90, 110, 110}} // delta: 0, 80, 100, 100
	p, ok, why := deltaQuantile(0.95, prev, cur)
	// rank 95 lies in (0.05, 0.1]: 0.05 + 0.05*(95-80)/20
	if !ok || math.Abs(p-0.0875) > 1e-12 {
		t.Errorf("p95 = %v ok=%v %s", p, ok, why)
	}
	if _, ok, why := deltaQuantile(0.95, prev, prev); ok || !strings.Contains(why, "no requests") {
		t.Errorf("idle interval: ok=%v %s", ok, why)
	}
	if _, ok, why := deltaQuantile(0.95, cur, prev); ok || why != reasonCounterReset {
		t.Errorf("reset: ok=%v %s", ok, why)
	}
	tail := histogram{bounds: b, cum: []float64{10, 10, 10, 110}}
	if p, ok, _ := deltaQuantile(0.95, prev, tail); !ok || p != 0.1 {
		t.Errorf("+Inf bucket: %v %v", p, ok)
	}
}

func TestParseErrorNamesOriginalLine(t *testing.T) {
	body := "# TYPE other gauge\nother 1\n\n# TYPE arangodb_scheduler_queue_length gauge\narangodb_scheduler_queue_length x7\n"
	_, err := parseArangoMetrics([]byte(body))
	if !errors.Is(err, ErrBadBody) || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("err = %v", err)
	}
	_, err = parseArangoMetrics([]byte("other 1\n<p>oops</p>\n"))
	if !errors.Is(err, ErrBadBody) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v", err)
	}
}

// The request-time family must be declared a histogram, and a family's
// # TYPE comes once, before its samples.
func TestParseFamilyTypes(t *testing.T) {
	h := "arangodb_client_connection_statistics_request_time"
	s, err := parseArangoMetrics([]byte(h + "_bucket{le=\"+Inf\"} 3\n" + h + "_count 3\n"))
	if err != nil || s.histOK || !strings.Contains(s.histWhy, "is not a histogram") {
		t.Errorf("untyped histogram: ok=%v %q err %v", s != nil && s.histOK, s.histWhy, err)
	}
	s, err = parseArangoMetrics([]byte("# TYPE arangodb_scheduler_queue_length summary\narangodb_scheduler_queue_length_sum 3\narangodb_scheduler_queue_length 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.values[mQueue]; ok {
		t.Error("a summary's sample taken as the queue length")
	}
	_, err = parseArangoMetrics([]byte("# TYPE arangodb_scheduler_queue_length gauge\narangodb_scheduler_queue_length 4\n\n# TYPE arangodb_scheduler_queue_length gauge\n"))
	if !errors.Is(err, ErrBadBody) || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "second # TYPE") {
		t.Errorf("second TYPE: %v", err)
	}
	_, err = parseArangoMetrics([]byte("# TYPE " + h + " histogram\n" + h + "_bucket{le=\"x\"} 1\n"))
	if !errors.Is(err, ErrBadBody) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad le: %v", err)
	}
}
