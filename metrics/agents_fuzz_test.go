package metrics

import (
	"errors"
	"net/url"
	"testing"

	"github.com/arangoscale/arangoscale/clock"
)

// FuzzMesosAgents: any /master/slaves body gives agents and their
// statistics URLs, or ErrBadBody; never a panic. (A hostile body can yield
// a URL that does not parse, e.g. port -1: the request for it then fails
// with an error like any unreachable agent.)
func FuzzMesosAgents(f *testing.F) {
	f.Add([]byte(`{"slaves":[{"id":"S0","hostname":"10.0.0.1","port":5051,"pid":"slave(1)@10.0.0.1:5051"}]}`))
	f.Add([]byte(`{"slaves":[{"id":"S1","pid":"slave(1)@[::1]:5051"},{"id":"S2","pid":"@"},{"id":"S3"}]}`))
	f.Add([]byte(`{"slaves":null}`))
	f.Add([]byte(`{"slaves":[{"hostname":"a b","port":-1}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		agents, err := parseAgents(body)
		if err != nil {
			if !errors.Is(err, ErrBadBody) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		for _, ar := range []bool{false, true} {
			m := NewMesos(nil, "http://leader.mesos:5050", clock.NewVirtual(t0), MesosOptions{AdminRouter: ar})
			for _, a := range agents {
				u, err := m.statsURL(a)
				if err != nil {
					continue
				}
				if p, err := url.Parse(u); err == nil && p.Scheme != "http" && p.Scheme != "https" {
					t.Fatalf("agent %+v: statistics URL %q is not http(s)", a, u)
				}
			}
		}
	})
}
