package sim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReadTraceJSON(t *testing.T) {
	// The shape of docs/querying/api.md's range query example.
	body := `{"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{},"values":[[1435781430.781,"1"],[1435781445.781,"NaN"],[1435781460.781,"2.5"]]}]}}`
	tr, err := ReadTraceJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.T) != 2 || tr.T[1] != 30*time.Second || tr.RPS[0] != 1 || tr.RPS[1] != 2.5 {
		t.Fatalf("trace %+v", tr)
	}
	if want := time.Unix(1435781430, 781e6).UTC(); tr.Start.Sub(want).Abs() > time.Millisecond {
		t.Fatalf("start %s, want %s", tr.Start, want)
	}
}

func TestReadTraceJSONErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"syntax", "{\"status\":\"success\",\n\"data\": {,}}", "line 2"},
		{"type", "{\"status\":\"success\",\n\"data\":{\"resultType\":\"matrix\",\"result\":[{\"values\":[[1,2]]}]}}", "values[0]: value 2 is not a quoted number"},
		{"error answer", `{"status":"error","errorType":"bad_data","error":"parse error"}`, "bad_data: parse error"},
		{"vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`, `resultType "vector"`},
		{"empty", `{"status":"success","data":{"resultType":"matrix","result":[]}}`, "no series"},
		{"two series", `{"status":"success","data":{"resultType":"matrix","result":[{"values":[]},{"values":[]}]}}`, "2 series"},
		{"no samples", `{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"NaN"]]}]}}`, "no samples"},
		{"negative", `{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"1"],[2,"-1"]]}]}}`, "values[1]: value \"-1\""},
		{"not increasing", `{"status":"success","data":{"resultType":"matrix","result":[{"values":[[2,"1"],[1,"1"]]}]}}`, "values[1]: time 1 does not increase"},
		{"not prometheus", `{"a":1}`, "not a Prometheus query_range answer"},
	} {
		_, err := ReadTraceJSON([]byte(c.body))
		if !errors.Is(err, ErrBadTrace) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrBadTrace mentioning %q", c.name, err, c.want)
		}
	}
}
