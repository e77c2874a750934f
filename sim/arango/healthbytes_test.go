package arango

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"
)

// The health answer, written from structs, is byte for byte what
// encoding/json gives for the same objects as maps (sorted keys), with the
// key sets it always had, for good, failed and agent entries.
func TestHealthBytes(t *testing.T) {
	e := newEnv(t, Params{Agents: 3}, 2, 3, nil)
	e.c.ServerDown("dbs.1")
	e.clk.Advance(time.Hour)
	resp, err := http.Get(e.srv.URL + "/_admin/cluster/health")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, again) {
		t.Fatalf("health bytes differ from the map encoding:\n%s\n%s", body, again)
	}
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	if got := keys(generic); !slices.Equal(got, []string{"ClusterId", "Health", "code", "error"}) {
		t.Errorf("top-level keys %v", got)
	}
	server := []string{"CanBeDeleted", "Endpoint", "Engine", "Host", "LastAckedTime", "Role", "ShortName", "Status",
		"SyncStatus", "SyncTime", "Timestamp", "Version"}
	agent := []string{"CanBeDeleted", "Endpoint", "Engine", "LastAckedTime", "Leader", "Leading", "Role", "Status", "Version"}
	statuses := map[string]bool{}
	for id, v := range generic["Health"].(map[string]any) {
		m := v.(map[string]any)
		want := server
		if m["Role"] == "Agent" {
			want = agent
		}
		if got := keys(m); !slices.Equal(got, want) {
			t.Errorf("%s: keys %v, want %v", id, got, want)
		}
		statuses[m["Status"].(string)] = true
	}
	if !statuses[StatusGood] || len(statuses) < 2 {
		t.Errorf("statuses %v: want a good and a down server", statuses)
	}
}
