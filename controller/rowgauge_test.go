package controller

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// exposition is the text format of what c gives a pedantic registry.
func exposition(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// The exposition of a rowGauge is what a GaugeVec set the same way gives:
// the same family, series and values.
func TestRowGaugeMatchesGaugeVec(t *testing.T) {
	flags := []string{"a", "b", "c"}
	fg := newRowGauge("x_flag", "help text", []string{"cluster", "role"}, "reason", flags)
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x_flag", Help: "help text"}, []string{"cluster", "role", "reason"})
	set := func(on map[string]bool, cluster, role string) {
		fg.SetFlags(func(f string) bool { return on[f] }, cluster, role)
		for _, f := range flags {
			v := 0.0
			if on[f] {
				v = 1
			}
			vec.WithLabelValues(cluster, role, f).Set(v)
		}
	}
	set(map[string]bool{"a": true}, "c1", "dbservers")
	set(map[string]bool{"b": true, "c": true}, "c1", "coordinators")
	set(map[string]bool{}, "c2", "dbservers")
	set(map[string]bool{"c": true}, "c1", "dbservers") // overwrites the first

	compare := func(step string) {
		t.Helper()
		if got, want := exposition(t, fg), exposition(t, vec); got != want {
			t.Errorf("%s: rowGauge gives\n%s\nGaugeVec gives\n%s", step, got, want)
		}
	}
	compare("after Set")

	if got, want := fg.DeletePartialMatch(prometheus.Labels{"cluster": "c1", "role": "coordinators"}), vec.DeletePartialMatch(prometheus.Labels{"cluster": "c1", "role": "coordinators"}); got != want {
		t.Errorf("DeletePartialMatch(c1, coordinators) = %d, GaugeVec's %d", got, want)
	}
	compare("after deleting one role")
	if got, want := fg.DeletePartialMatch(prometheus.Labels{"cluster": "c1"}), vec.DeletePartialMatch(prometheus.Labels{"cluster": "c1"}); got != want {
		t.Errorf("DeletePartialMatch(c1) = %d, GaugeVec's %d", got, want)
	}
	compare("after deleting a cluster")
	if n := fg.DeletePartialMatch(prometheus.Labels{"reason": "a"}); n != 0 {
		t.Errorf("DeletePartialMatch(flag label) = %d, want 0 (only key labels match)", n)
	}
	if n := fg.DeletePartialMatch(prometheus.Labels{"nope": "c2"}); n != 0 {
		t.Errorf("DeletePartialMatch(unknown label) = %d, want 0", n)
	}
	if got, want := exposition(t, fg), "# HELP x_flag help text\n# TYPE x_flag gauge\n"+
		"x_flag{cluster=\"c2\",reason=\"a\",role=\"dbservers\"} 0\n"+
		"x_flag{cluster=\"c2\",reason=\"b\",role=\"dbservers\"} 0\n"+
		"x_flag{cluster=\"c2\",reason=\"c\",role=\"dbservers\"} 0\n"; got != want {
		t.Errorf("left after the deletes:\n%s\nwant\n%s", got, want)
	}
}

// A pedantic registry takes it: the descriptor is consistent with every
// metric collected.
func TestRowGaugeRegisters(t *testing.T) {
	fg := newRowGauge("x_step", "Step of a thing.", []string{"cluster"}, "step", []string{"idle", "busy"})
	fg.SetFlags(func(s string) bool { return s == "busy" }, "c1")
	want := "# HELP x_step Step of a thing.\n# TYPE x_step gauge\n" +
		"x_step{cluster=\"c1\",step=\"busy\"} 1\nx_step{cluster=\"c1\",step=\"idle\"} 0\n"
	if got := exposition(t, fg); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
