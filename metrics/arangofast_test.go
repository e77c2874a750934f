package metrics

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fastAgrees checks that the direct scan and expfmt read body alike, and
// reports whether the direct scan took it.
func fastAgrees(t *testing.T, body []byte) bool {
	t.Helper()
	want, werr := parseArango(body, false)
	got, gerr := parseArango(body, true)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("errors differ: expfmt %v, direct %v\nbody:\n%s", werr, gerr, body)
	}
	if werr != nil {
		return false
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("samples differ:\nexpfmt %+v\ndirect %+v\nbody:\n%s", want, got, body)
	}
	trimmed := body
	if n := strings.LastIndexByte(string(body), '\n'); n >= 0 {
		trimmed = body[:n+1]
	}
	rel, _, err := selectFamilies(trimmed)
	if err != nil {
		return false
	}
	return fastSample(rel, &arangoSample{values: map[string]float64{}})
}

// The bodies arangod prints (the DataDog capture, a 3,000-series DB
// server) take the direct scan and read as expfmt reads them; odd but
// valid forms and broken ones go to expfmt, with its answer or error.
func TestFastPathAgrees(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		fast bool
	}{
		{"datadog capture", string(readTestdata(t, "datadog_metrics_v2_single.prom")), true},
		{"db server 3000 series", string(benchBody(3000)), true},
		{"untyped sample", "arangodb_scheduler_queue_length{role=\"PRIMARY\"} 4\n", true},
		{"two label sets", "# TYPE arangodb_scheduler_queue_length gauge\n" +
			"arangodb_scheduler_queue_length{role=\"\",x=\"1\"} 4\narangodb_scheduler_queue_length{x=\"2\",role=\"COORDINATOR\"} 0.5\n", true},
		{"no blank before value", "arangodb_scheduler_queue_length{role=\"COORDINATOR\"}7\n", false},
		{"timestamp", "arangodb_scheduler_queue_length{role=\"COORDINATOR\"} 7 1700000000\n", false},
		{"type after sample", "arangodb_scheduler_queue_length 7\n# TYPE arangodb_scheduler_queue_length gauge\n", false},
		{"escaped label", "arangodb_scheduler_queue_length{role=\"CO\\\"OR\"} 7\n", false},
		{"duplicate label", "arangodb_scheduler_queue_length{role=\"A\",role=\"B\"} 7\n", false},
		{"NaN value", "arangodb_scheduler_queue_length NaN\n", false},
		{"histogram without type", mRequestTime + "_bucket{le=\"+Inf\"} 3\n" + mRequestTime + "_count 3\n", false},
		{"histogram two sets", "# TYPE " + mRequestTime + " histogram\n" +
			mRequestTime + "_bucket{role=\"PRIMARY\",le=\"1\"} 2\n" + mRequestTime + "_bucket{role=\"PRIMARY\",le=\"+Inf\"} 3\n" +
			mRequestTime + "_sum{s=\"b\"} 1\n" + mRequestTime + "_bucket{s=\"b\",le=\"1\"} 1\n" + mRequestTime + "_bucket{le=\"+Inf\",s=\"b\"} 1\n" +
			mRequestTime + "_count{role=\"PRIMARY\"} 3\n" + mRequestTime + "_count{s=\"b\"} 1\n", true},
		{"histogram no count", "# TYPE " + mRequestTime + " histogram\n" + mRequestTime + "_bucket{le=\"+Inf\"} 3\n", true},
		{"histogram as gauge", "# TYPE " + mRequestTime + " gauge\n" + mRequestTime + "_bucket{le=\"+Inf\"} 3\n", false},
		{"negative bucket", "# TYPE " + mRequestTime + " histogram\n" + mRequestTime + "_bucket{le=\"+Inf\"} -3.5\n", false},
		{"cut last line", "# TYPE arangodb_scheduler_queue_length gauge\narangodb_scheduler_queue_length 7\narangodb_process_statistics_user_time 1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fastAgrees(t, []byte(c.body)); got != c.fast {
				t.Errorf("direct scan taken = %v, want %v", got, c.fast)
			}
		})
	}
}

// FuzzArangoFastPath: whatever the direct scan accepts, expfmt reads the
// same way.
func FuzzArangoFastPath(f *testing.F) {
	f.Add(relevantLines(readTestdata(f, "datadog_metrics_v2_single.prom")))
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzArangoMetrics/*")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if body, ok := corpusBytes(string(b)); ok {
			f.Add(body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) { fastAgrees(t, body) })
}

// corpusBytes reads the []byte value of a "go test fuzz v1" corpus file.
func corpusBytes(file string) ([]byte, bool) {
	_, v, ok := strings.Cut(file, "\n")
	if !ok {
		return nil, false
	}
	v = strings.TrimSpace(v)
	lit, ok := strings.CutPrefix(v, "[]byte(")
	if !ok {
		return nil, false
	}
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	return []byte(s), err == nil
}
