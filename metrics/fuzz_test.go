package metrics

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// The fuzz targets check that no body makes a parser panic and that what
// is accepted is never a non-finite or impossible number. Seeds: the real
// payloads in testdata plus testdata/fuzz/<target>.

func FuzzArangoMetrics(f *testing.F) {
	// The families the signals use, cut from the real body: a 54 KB seed
	// makes the fuzzer spend its time minimizing.
	f.Add(relevantLines(readTestdata(f, "datadog_metrics_v2_single.prom")))
	f.Add([]byte("# TYPE arangodb_scheduler_queue_length gauge\narangodb_scheduler_queue_length{role=\"COORDINATOR\"}7\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := parseArangoMetrics(body)
		if err != nil {
			return
		}
		for k, v := range s.values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s = %v accepted", k, v)
			}
		}
		if s.histOK {
			h := s.hist
			if len(h.bounds) == 0 || len(h.bounds) != len(h.cum) || !math.IsInf(h.bounds[len(h.bounds)-1], 1) {
				t.Fatalf("bad histogram accepted: %+v", h)
			}
			for i := 1; i < len(h.bounds); i++ {
				if h.bounds[i] <= h.bounds[i-1] || h.cum[i] < h.cum[i-1] {
					t.Fatalf("histogram not ascending: %+v", h)
				}
			}
		}
		// Deriving twice (the second with a rate) must not panic either.
		clk := clock.NewVirtual(t0)
		a := NewArangoDB(nil, "http://x", clk, ArangoDBOptions{})
		srv := Server{ID: "X", Role: "DBSERVER"}
		a.derive(srv, s, clk.Now())
		vals, _ := a.derive(srv, s, clk.Advance(time.Second))
		for k, v := range vals {
			if math.IsNaN(v) {
				t.Fatalf("%s is NaN", k)
			}
		}
	})
}

func FuzzHealth(f *testing.F) {
	f.Add([]byte(threeServerHealth))
	f.Add([]byte(`{"Health":{"X":{"Role":7}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		servers, err := parseHealth(body)
		if err == nil && servers == nil {
			t.Fatal("nil servers without error")
		}
	})
}

func FuzzMesosStatistics(f *testing.F) {
	f.Add(readTestdata(f, "mesos_doc_agent_monitor_statistics.json"))
	f.Add(readTestdata(f, "mesos_doc_agent_monitor_statistics_network-port-mapping.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		es, err := parseStatistics(body)
		if err != nil {
			return
		}
		m := NewMesos(nil, "http://m", clock.NewVirtual(t0), MesosOptions{})
		for i := range es {
			for range 2 {
				u := m.usage(es[i].ExecutorID, &es[i], t0)
				if u.CPUOK && (math.IsNaN(u.CPU) || math.IsInf(u.CPU, 0)) || u.MemoryOK && math.IsNaN(u.Memory) {
					t.Fatalf("non-finite usage %+v", u)
				}
			}
		}
	})
}

func FuzzMesosSnapshot(f *testing.F) {
	f.Add([]byte(snapshotBody))
	f.Add([]byte(`{"master/cpus_total":1e400}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseSnapshot(body)
		if err != nil {
			return
		}
		for _, v := range []float64{c.CPUsTotal, c.CPUsUsed, c.MemTotalMB, c.MemUsedMB, c.DiskTotalMB, c.DiskUsedMB} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("capacity %+v accepted", c)
			}
		}
		if _, err := parseAgents(body); err == nil {
			return
		}
	})
}

func FuzzPrometheusAnswer(f *testing.F) {
	for _, a := range promAnswers {
		f.Add(a.code, []byte(a.body))
	}
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		v, err := decodeQueryAnswer(code, body)
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Fatalf("value %v accepted", v)
		}
	})
}

// relevantLines keeps the lines of body that mention a family the signals
// use.
func relevantLines(body []byte) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		for _, name := range append(arangoScalars[:], mRequestTime) {
			if bytes.Contains(line, []byte(name)) {
				out = append(out, line...)
				break
			}
		}
	}
	return out
}
