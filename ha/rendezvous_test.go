package ha

import (
	"fmt"
	"reflect"
	"testing"
)

func TestOwnerSpreadsAndMovesOnlyTheLeaversClusters(t *testing.T) {
	members := []string{"m-0000000001", "m-0000000002", "m-0000000003"}
	var clusters []string
	for i := range 300 {
		clusters = append(clusters, fmt.Sprintf("cluster-%03d", i))
	}
	count := map[string]int{}
	before := map[string]string{}
	for _, c := range clusters {
		o := Owner(c, members)
		count[o]++
		before[c] = o
	}
	for _, m := range members {
		if count[m] < 70 || count[m] > 130 { // 100 each on average
			t.Errorf("member %s owns %d of 300 clusters: %v", m, count[m], count)
		}
	}
	rest := members[:2]
	for _, c := range clusters {
		o := Owner(c, rest)
		if before[c] != members[2] && o != before[c] {
			t.Fatalf("cluster %s moved from %s to %s though its owner stayed", c, before[c], o)
		}
	}
}

func TestOwner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members []string
		want    string
	}{
		{"no members", nil, ""},
		{"one member", []string{"m-1"}, "m-1"},
		{"order does not matter", []string{"m-2", "m-1"}, Owner("c", []string{"m-1", "m-2"})},
	} {
		if got := Owner("c", tc.members); got != tc.want {
			t.Errorf("%s: Owner = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDiff(t *testing.T) {
	members := []string{"a", "b"}
	var mine, theirs string
	for i := 0; mine == "" || theirs == ""; i++ {
		c := fmt.Sprintf("c%d", i)
		if Owner(c, members) == "a" {
			mine = c
		} else {
			theirs = c
		}
	}
	for _, tc := range []struct {
		name     string
		clusters []string
		held     map[string]bool
		want     Plan
	}{
		{"take what hashes to me", []string{mine, theirs}, nil, Plan{Take: []string{mine}}},
		{"hold: nothing to do", []string{mine, theirs}, map[string]bool{mine: true}, Plan{}},
		{"release what hashes elsewhere", []string{mine, theirs}, map[string]bool{mine: true, theirs: true}, Plan{Release: []string{theirs}}},
		{"release what left the policy", []string{theirs}, map[string]bool{mine: true}, Plan{Release: []string{mine}}},
	} {
		if got := Diff("a", tc.clusters, members, tc.held); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
