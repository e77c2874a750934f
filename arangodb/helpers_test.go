package arangodb

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fake is an httptest ArangoDB coordinator answering from routes keyed by
// Go ServeMux patterns ("GET /_admin/cluster/health"). It records every
// request's method, path, query, Authorization header and body.
type fake struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path, Query, Auth string
	Body                      []byte
}

func newFake(t testing.TB, routes map[string]http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{}
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONBody(w, http.StatusNotFound, `{"error":true,"code":404,"errorNum":404,"errorMessage":"unknown path"}`)
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), body})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// requests returns the recorded requests to path.
func (f *fake) requests(method, path string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.reqs {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (f *fake) client(t testing.TB) *Client {
	t.Helper()
	c, err := New(Config{Endpoints: []string{f.URL}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSONBody(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// reply answers every request with code and body.
func reply(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeJSONBody(w, code, body) }
}

// sequence answers with the bodies in turn, repeating the last.
func sequence(steps ...func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	var mu sync.Mutex
	i := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := steps[min(i, len(steps)-1)]
		i++
		mu.Unlock()
		s(w, r)
	}
}

var (
	elisionLine   = regexp.MustCompile(`(?m)^\s*\.\.\..*$\n?`)
	trailingComma = regexp.MustCompile(`,(\s*[}\]])`)
)

// fixture reads testdata/name; for .jsonc it drops the "..." elision lines
// and the commas they leave dangling, so the rest parses as JSON.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.HasSuffix(name, ".jsonc") {
		s = elisionLine.ReplaceAllString(s, "")
		s = trailingComma.ReplaceAllString(s, "$1")
		if !json.Valid([]byte(s)) {
			t.Fatalf("fixture %s is not JSON after removing elisions", name)
		}
	}
	return s
}

// healthWith returns a health body with the given servers (id → fields).
func healthWith(t *testing.T, servers map[string]map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Health": servers, "ClusterId": "c1", "error": false, "code": 200})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
