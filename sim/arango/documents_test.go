package arango

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestReadManyDocuments: PUT /_api/document/{collection}?onlyget=true
// answers 200 with an array as long as the body's, each document or, for
// a missing key, arangod's inline error object; a body that is no array is
// a 400 and a missing collection a 404 (docs-hugo 3.12 documents.md,
// getDocuments; Transaction/Methods.cpp createBabiesError).
func TestReadManyDocuments(t *testing.T) {
	e := newEnv(t, Params{}, 1, 3, nil)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := do("PUT", "/_api/document/holds?onlyget=true", `["a"]`); code != 404 || !strings.Contains(b, `"errorNum":1203`) {
		t.Fatalf("no collection: %d %s", code, b)
	}
	if code, b := do("POST", "/_api/collection", `{"name":"holds"}`); code != 200 {
		t.Fatalf("create: %d %s", code, b)
	}
	if code, b := do("POST", "/_api/document/holds", `{"_key":"a","n":1}`); code != 202 {
		t.Fatalf("insert: %d %s", code, b)
	}
	code, b := do("PUT", "/_api/document/holds?onlyget=true", `["a", {"_key":"a"}, "nope", 7]`)
	if code != 200 {
		t.Fatalf("read many: %d %s", code, b)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(b), &got); err != nil || len(got) != 4 {
		t.Fatalf("read many: %s (%v)", b, err)
	}
	for i := 0; i < 2; i++ {
		if got[i]["_key"] != "a" || got[i]["_id"] != "holds/a" || got[i]["n"] != 1.0 || got[i]["_rev"] == "" {
			t.Errorf("item %d: %v", i, got[i])
		}
	}
	if got[2]["error"] != true || got[2]["errorNum"] != 1202.0 || got[2]["errorMessage"] != "document not found" || len(got[2]) != 3 {
		t.Errorf("missing key: %v", got[2])
	}
	if got[3]["error"] != true || got[3]["errorNum"] != 1205.0 {
		t.Errorf("a number for a key: %v", got[3])
	}
	if code, b := do("PUT", "/_api/document/holds?onlyget=true", `{"_key":"a"}`); code != 400 {
		t.Errorf("an object for a body: %d %s", code, b)
	}
	// Without onlyget a PUT on the collection is a replace of many, which
	// the emulator does not offer.
	if code, _ := do("PUT", "/_api/document/holds", `["a"]`); code != 405 {
		t.Errorf("PUT without onlyget: %d", code)
	}
}
