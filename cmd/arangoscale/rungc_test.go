package main

import "testing"

// run keeps the operator's GOGC (even GOGC=off or an empty value, which
// the runtime has read already) and sets its own default only without one.
func TestRunGCPercent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		percent int
		apply   bool
	}{
		{"unset", nil, defaultRunGCPercent, true},
		{"operator value", map[string]string{"GOGC": "200"}, 0, false},
		{"operator off", map[string]string{"GOGC": "off"}, 0, false},
		{"set empty", map[string]string{"GOGC": ""}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			p, ok := runGCPercent(lookup)
			if p != tc.percent || ok != tc.apply {
				t.Fatalf("runGCPercent = %d, %v; want %d, %v", p, ok, tc.percent, tc.apply)
			}
		})
	}
}
