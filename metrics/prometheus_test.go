package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Answers in the documented /api/v1/query format.
var promAnswers = map[string]struct {
	code int
	body string
}{
	"one":    {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764136800.5,"1234.5"]}]}}`},
	"scalar": {200, `{"status":"success","data":{"resultType":"scalar","result":[1764136800.5,"42"]}}`},
	"empty":  {200, `{"status":"success","data":{"resultType":"vector","result":[]}}`},
	"two": {200, `{"status":"success","data":{"resultType":"vector","result":[` +
		`{"metric":{"job":"a"},"value":[1764136800,"1"]},{"metric":{"job":"b"},"value":[1764136800,"2"]}]}}`},
	"matrix":  {200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1764136800,"1"],[1764136815,"2"]]}]}}`},
	"nan":     {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764136800,"NaN"]}]}}`},
	"string":  {200, `{"status":"success","data":{"resultType":"string","result":[1764136800,"hello"]}}`},
	"bad":     {400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected \")\""}`},
	"down":    {503, `Service Unavailable`},
	"garbled": {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[17641`},
}

func newFakePrometheus(t testing.TB) (*httptest.Server, *[]string) {
	var (
		mu    sync.Mutex
		times []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		times = append(times, r.Form.Get("time"))
		mu.Unlock()
		a, ok := promAnswers[r.Form.Get("query")]
		if !ok {
			a = promAnswers["empty"]
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.code)
		fmt.Fprint(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &times
}

func TestPrometheusQuery(t *testing.T) {
	srv, times := newFakePrometheus(t)
	p, err := NewPrometheus(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, err := p.Query(ctx, "one", t0); err != nil || v != 1234.5 {
		t.Errorf("one: %v %v", v, err)
	}
	if (*times)[0] != fmt.Sprint(t0.Unix()) {
		t.Errorf("time param %q", (*times)[0])
	}
	if v, err := p.Query(ctx, "scalar", t0); err != nil || v != 42 {
		t.Errorf("scalar: %v %v", v, err)
	}
	for _, q := range []string{"empty", "two", "matrix", "nan", "string"} {
		if _, err := p.Query(ctx, q, t0); !errors.Is(err, ErrMissing) {
			t.Errorf("%s: %v, want ErrMissing", q, err)
		}
	}
	for _, q := range []string{"bad", "down", "garbled"} {
		_, err := p.Query(ctx, q, t0)
		if err == nil || errors.Is(err, ErrMissing) {
			t.Errorf("%s: %v, want a source error", q, err)
		}
	}
	_, err = p.Query(ctx, "bad", t0)
	var st *StatusError
	if !errors.As(err, &st) || st.Code != 400 || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("bad: %v", err)
	}
}
