package main

import (
	"bytes"
	"strings"
	"testing"
)

// simulate --faults takes the operator's policy, cluster and trace.
func TestSimulateFaultsOnAPolicy(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--faults", "random", "--policy", "../../chaos/testdata/shop.yaml", "--cluster", "shop",
		"--trace", "../../simulate/testdata/step.csv", "--runs", "1", "--duration", "5m"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), `note: cluster "shop" of ../../chaos/testdata/shop.yaml runs as "alpha"`) ||
		!strings.Contains(out.String(), "load: trace step.csv") || !strings.Contains(out.String(), "summary: 1 runs, 0 with violations") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
}

func TestSimulateFaultsPolicyFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"cluster without policy", []string{"--cluster", "shop"}, "--cluster and --trace go with --policy"},
		{"trace without policy", []string{"--trace", "t.csv"}, "--cluster and --trace go with --policy"},
		{"unknown cluster", []string{"--policy", "../../chaos/testdata/shop.yaml", "--cluster", "nope"}, `--cluster "nope": no such cluster`},
		{"missing policy", []string{"--policy", "nope.yaml"}, "--policy: open nope.yaml"},
		{"missing trace", []string{"--policy", "../../chaos/testdata/shop.yaml", "--trace", "missing.csv"}, "--trace: open missing.csv"},
		{"promql", []string{"--policy", "../../policies.example.yaml"}, "policies.example.yaml:22:21: clusters[0].roles.coordinators.metrics[2].promql: the chaos world has no Prometheus"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"simulate", "--faults", "random"}, c.args...), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), c.msg) || strings.Contains(out.String(), "summary") {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want exit 2 mentioning %q and nothing run", c.name, code, errOut.String(), out.String(), c.msg)
		}
	}
}
