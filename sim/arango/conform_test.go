package arango

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ArangoDB conformance against the official OpenAPI blocks of docs-hugo
// 3.11 develop/http-api/cluster.md (testdata/docs-hugo_3.11_cluster_openapi.md).
// The blocks are loose in places (the health answer has no schema, only a
// described list of keys; GET rebalance's example puts pendingMoveShards
// inside result where its schema has them beside it), so the checks read
// what the blocks do pin down and take the real samples where they differ.

type openapiBlock struct {
	Paths map[string]map[string]struct {
		Description string `yaml:"description"`
		Responses   map[string]struct {
			Content map[string]struct {
				Schema map[string]any `yaml:"schema"`
			} `yaml:"content"`
		} `yaml:"responses"`
	} `yaml:"paths"`
}

func openapiOps(t *testing.T) map[string]map[string]any {
	t.Helper()
	var b []byte
	for _, f := range []string{"testdata/docs-hugo_3.11_cluster_openapi.md", "testdata/docs-hugo_3.11_collections_openapi.md"} {
		part, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, part...)
	}
	ops := map[string]map[string]any{} // "GET /path" → {"description": …, "200": schema}
	for _, blk := range regexp.MustCompile("(?s)```openapi\n(.*?)```").FindAllSubmatch(b, -1) {
		var o openapiBlock
		if err := yaml.Unmarshal(blk[1], &o); err != nil {
			t.Fatal(err)
		}
		for path, methods := range o.Paths {
			for m, op := range methods {
				e := map[string]any{"description": op.Description}
				for code, r := range op.Responses {
					e[code] = r.Content["application/json"].Schema
				}
				ops[strings.ToUpper(m)+" "+path] = e
			}
		}
	}
	return ops
}

func schemaAt(s map[string]any, path ...string) map[string]any {
	for _, p := range path {
		if p == "[]" {
			s, _ = s["items"].(map[string]any)
			continue
		}
		props, _ := s["properties"].(map[string]any)
		s, _ = props[p].(map[string]any)
	}
	return s
}

func propNames(s map[string]any) []string {
	props, _ := s["properties"].(map[string]any)
	var out []string
	for k := range props {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func getJSON(t *testing.T, method, url, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %v", method, url, resp.StatusCode, err)
	}
	return v
}

func TestHealthKeysAreDocumented(t *testing.T) {
	ops := openapiOps(t)
	desc, _ := ops["GET /_admin/cluster/health"]["description"].(string)
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\s*- `([A-Za-z]+)`").FindAllStringSubmatch(desc, -1) {
		documented[m[1]] = true
	}
	if !documented["ShortName"] || !documented["CanBeDeleted"] {
		t.Fatalf("health keys not read from the docs: %v", documented)
	}
	// In the real 3.4.2 sample but not in the docs' list: the agency's
	// Supervision/Health entries are copied as they are.
	documented["SyncTime"] = true
	e := newEnv(t, Params{Agents: 3}, 1, 2, nil)
	v := getJSON(t, "GET", e.srv.URL+"/_admin/cluster/health", "")
	for _, k := range []string{"ClusterId", "Health", "error", "code"} {
		if _, ok := v[k]; !ok {
			t.Errorf("health: no %s", k)
		}
	}
	for id, s := range v["Health"].(map[string]any) {
		for k := range s.(map[string]any) {
			if !documented[k] {
				t.Errorf("health %s: key %q is neither documented nor in the real sample", id, k)
			}
		}
		// RestAdminClusterHandler.cpp buildHealthResult writes these.
		if r := s.(map[string]any)["Role"]; !slices.Contains([]any{"DBServer", "Coordinator", "Agent"}, r) {
			t.Errorf("health %s: Role %v", id, r)
		}
	}
}

func TestRebalanceAnswersMatchOpenAPI(t *testing.T) {
	ops := openapiOps(t)
	e := newEnv(t, Params{}, 1, 3, nil)
	if err := e.c.AddCollection(CollectionSpec{Name: "c", NumberOfShards: 6, ReplicationFactor: 2, SizeBytes: 6 << 20}); err != nil {
		t.Fatal(err)
	}
	e.addDB(3)

	get := ops["GET /_admin/cluster/rebalance"]["200"].(map[string]any)
	res := getJSON(t, "GET", e.srv.URL+"/_admin/cluster/rebalance", "")["result"].(map[string]any)
	// The docs' example (fixtures docs-hugo_3.12_get_rebalance) has the
	// move counts inside result.
	allowed := append(propNames(schemaAt(get, "result")), "pendingMoveShards", "todoMoveShards")
	for k := range res {
		if !slices.Contains(allowed, k) {
			t.Errorf("GET rebalance: result.%s not documented (%v)", k, allowed)
		}
	}
	for _, part := range []string{"leader", "shards"} {
		want := propNames(schemaAt(get, "result", part))
		var got []string
		for k := range res[part].(map[string]any) {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("GET rebalance: result.%s keys %v, documented %v", part, got, want)
		}
	}

	for _, method := range []string{"POST", "PUT"} {
		schema := ops[method+" /_admin/cluster/rebalance"]["200"].(map[string]any)
		moveSchema := schemaAt(schema, "result", "moves", "[]")
		want := propNames(moveSchema)
		if len(want) == 0 {
			t.Fatalf("%s: no moves schema in the docs", method)
		}
		moves := getJSON(t, method, e.srv.URL+"/_admin/cluster/rebalance", rebalanceAll)["result"].(map[string]any)["moves"].([]any)
		if len(moves) == 0 {
			t.Fatalf("%s: no moves", method)
		}
		for _, m := range moves {
			var got []string
			for k := range m.(map[string]any) {
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s rebalance: move keys %v, documented %v", method, got, want)
			}
			if typ := schemaAt(moveSchema, "collection")["type"]; typ != "number" {
				t.Fatalf("docs type collection as %v", typ)
			}
			if _, ok := m.(map[string]any)["collection"].(float64); !ok {
				t.Errorf("%s rebalance: collection %v is not a number", method, m.(map[string]any)["collection"])
			}
		}
	}
}

// The collection answers the controller reads (list, properties, shards)
// carry every key the OpenAPI schema requires and no key it lacks, except
// the ones the block's own comment names as sent but purposely
// undocumented.
func TestCollectionAnswersMatchOpenAPI(t *testing.T) {
	ops := openapiOps(t)
	undocumented := []string{"internalValidatorType", "isSmartChild", "minReplicationFactor", "shadowCollections", "usesRevisionsAsDocumentIds"}
	e := newEnv(t, Params{}, 1, 3, nil)
	if err := e.c.AddSystemCollections(); err != nil {
		t.Fatal(err)
	}
	if err := e.c.AddCollection(CollectionSpec{Name: "c", NumberOfShards: 3, ReplicationFactor: 2}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, schema, body map[string]any) {
		t.Helper()
		props := propNames(schema)
		for k := range body {
			if !slices.Contains(props, k) && !slices.Contains(undocumented, k) {
				t.Errorf("%s: key %q not in the OpenAPI schema", what, k)
			}
		}
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := body[r.(string)]; !ok {
				t.Errorf("%s: required key %q missing", what, r)
			}
		}
	}
	list := ops["GET /_db/{database-name}/_api/collection"]["200"].(map[string]any)
	lb := getJSON(t, "GET", e.srv.URL+"/_api/collection", "")
	check("GET /_api/collection", list, lb)
	for _, c := range lb["result"].([]any) {
		check("GET /_api/collection result[]", schemaAt(list, "result", "[]"), c.(map[string]any))
	}
	for _, name := range []string{"c", "_users", "_graphs"} {
		check("GET properties of "+name, ops["GET /_db/{database-name}/_api/collection/{collection-name}/properties"]["200"].(map[string]any),
			getJSON(t, "GET", e.srv.URL+"/_api/collection/"+name+"/properties", ""))
		check("GET shards of "+name, ops["GET /_db/{database-name}/_api/collection/{collection-name}/shards"]["200"].(map[string]any),
			getJSON(t, "GET", e.srv.URL+"/_api/collection/"+name+"/shards", ""))
	}
}
