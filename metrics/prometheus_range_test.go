package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rangeServer answers /api/v1/query_range in the shape of the range query
// example of prometheus docs/querying/api.md ("Range queries": a matrix of
// series with "values": [[<unix seconds>, "<value>"], …]): one series whose
// value at t is t mod 1000, with "NaN" every 7th step, for query "rps".
func rangeServer(t *testing.T) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		mu.Lock()
		asked = append(asked, q.Get("start")+".."+q.Get("end")+"/"+q.Get("step"))
		mu.Unlock()
		start, err1 := strconv.ParseFloat(q.Get("start"), 64)
		end, err2 := strconv.ParseFloat(q.Get("end"), 64)
		step, err3 := strconv.ParseFloat(q.Get("step"), 64)
		w.Header().Set("Content-Type", "application/json")
		if err1 != nil || err2 != nil || err3 != nil || step <= 0 || (end-start)/step >= 11000 {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`)
			return
		}
		switch q.Get("query") {
		case "rps":
			var b strings.Builder
			b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[`)
			for i, ts := 0, start; ts <= end; i, ts = i+1, ts+step {
				if i > 0 {
					b.WriteByte(',')
				}
				v := strconv.FormatFloat(float64(int64(ts)%1000), 'f', -1, 64)
				if int64(ts/step)%7 == 0 {
					v = "NaN"
				}
				fmt.Fprintf(&b, `[%s,"%s"]`, strconv.FormatFloat(ts, 'f', -1, 64), v)
			}
			b.WriteString(`]}]}}`)
			fmt.Fprint(w, b.String())
		case "none":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
		case "two":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[`+
				`{"metric":{"__name__":"up","job":"prometheus","instance":"localhost:9090"},"values":[[1435781430.781,"1"]]},`+
				`{"metric":{"__name__":"up","job":"node","instance":"localhost:9091"},"values":[[1435781430.781,"0"]]}]}}`)
		case "down":
			w.WriteHeader(503)
			fmt.Fprint(w, "Service Unavailable")
		default:
			w.WriteHeader(400)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &asked
}

func TestPrometheusQueryRange(t *testing.T) {
	srv, asked := rangeServer(t)
	p, err := NewPrometheus(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	end := time.Unix(1764136800, 0)
	start := end.Add(-8 * 24 * time.Hour) // 11,521 minutes: two pieces
	pts, err := p.QueryRange(ctx, "rps", start, end, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(*asked) != 2 {
		t.Fatalf("asked %v, want two pieces", *asked)
	}
	want := 0
	for ts := start; !ts.After(end); ts = ts.Add(time.Minute) {
		if (ts.Unix()/60)%7 != 0 {
			want++
		}
	}
	if len(pts) != want {
		t.Fatalf("%d points, want %d (NaN left out)", len(pts), want)
	}
	for i, pt := range pts {
		if pt.V != float64(pt.T.Unix()%1000) || (i > 0 && !pt.T.After(pts[i-1].T)) {
			t.Fatalf("point %d = %+v", i, pt)
		}
	}
	if pts, err := p.QueryRange(ctx, "none", start, end, time.Minute); err != nil || len(pts) != 0 {
		t.Fatalf("none: %v %v", pts, err)
	}
	if _, err := p.QueryRange(ctx, "two", start, start.Add(time.Hour), time.Minute); !errors.Is(err, ErrMissing) {
		t.Fatalf("two series: %v, want ErrMissing", err)
	}
	var st *StatusError
	if _, err := p.QueryRange(ctx, "down", start, start.Add(time.Hour), time.Minute); !errors.As(err, &st) || st.Code != 503 {
		t.Fatalf("down: %v, want a 503 StatusError", err)
	}
	if _, err := p.QueryRange(ctx, "sum(", start, start.Add(time.Hour), time.Minute); !errors.As(err, &st) || !strings.Contains(err.Error(), "bad_data") || !strings.Contains(err.Error(), `"sum("`) {
		t.Fatalf("bad query: %v", err)
	}
	if _, err := p.QueryRange(ctx, "rps", end, start, time.Minute); !errors.Is(err, ErrBadBody) {
		t.Fatalf("reversed range: %v", err)
	}
}
