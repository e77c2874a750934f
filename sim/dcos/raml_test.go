package dcos

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// A reader of the part of the RAML 1.0 type syntax Marathon's API
// definition (testdata/raml, mesosphere/marathon docs/docs/rest-api/public/api)
// uses: libraries with `uses` aliases, object types with properties (`?`
// marks optional, `required: false` too), `/regex/` pattern properties,
// inheritance through `type: Parent`, type expressions `X`, `lib.X`, `X[]`,
// `(X)[]`, `A | B`, the built-in scalars, `enum`, `pattern`, `items`,
// `minimum`/`maximum` and `additionalProperties`.
//
// One deliberate choice: RAML opens objects by default
// (additionalProperties: true). The checker closes them, because the point
// is to catch keys real Marathon never writes; a type that declares
// `additionalProperties: true` or pattern properties stays open.

type ramlLib struct {
	file  string
	uses  map[string]string // alias → library file (base name)
	types map[string]any
}

type ramlSchema struct {
	libs map[string]*ramlLib // by base name, e.g. "task.raml"
	// marathonTime, when set, requires datetime values in Marathon's own
	// format (Timestamp.toString: ISO-8601, UTC, milliseconds).
	marathonTime bool
	// deviations are "lib#Type.key" entries where real Marathon differs
	// from its RAML, each with the upstream evidence: the key may appear
	// though the type lacks it, or be null though the type says string.
	deviations map[string]string
}

func loadRAML(t *testing.T, dir string) *ramlSchema {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.raml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("raml: no libraries in %s: %v", dir, err)
	}
	s := &ramlSchema{libs: map[string]*ramlLib{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Uses  map[string]string `yaml:"uses"`
			Types map[string]any    `yaml:"types"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("raml: %s: %v", f, err)
		}
		s.libs[filepath.Base(f)] = &ramlLib{file: filepath.Base(f), uses: doc.Uses, types: doc.Types}
	}
	return s
}

// check validates a JSON value (decoded with UseNumber) against the type
// expression expr of library lib and returns one line per violation.
func (s *ramlSchema) check(lib, expr string, v any) []string {
	l := s.libs[lib]
	if l == nil {
		return []string{"raml: no library " + lib}
	}
	return s.checkExpr(l, expr, v, "$")
}

func (s *ramlSchema) lookup(l *ramlLib, name string) (*ramlLib, any, bool) {
	if alias, n, ok := strings.Cut(name, "."); ok {
		f, found := l.uses[alias]
		if !found {
			return nil, nil, false
		}
		ol := s.libs[filepath.Base(f)]
		if ol == nil {
			return nil, nil, false
		}
		d, ok := ol.types[n]
		return ol, d, ok
	}
	d, ok := l.types[name]
	return l, d, ok
}

// splitUnion splits a type expression at its top-level "|".
func splitUnion(expr string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range expr {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(expr[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(expr[start:]))
}

var marathonTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func (s *ramlSchema) checkExpr(l *ramlLib, expr string, v any, path string) []string {
	expr = strings.TrimSpace(expr)
	if parts := splitUnion(expr); len(parts) > 1 {
		var all []string
		for _, p := range parts {
			errs := s.checkExpr(l, p, v, path)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, fmt.Sprintf("[%s: %s]", p, strings.Join(errs, "; ")))
		}
		return []string{fmt.Sprintf("%s: matches no member of %s: %s", path, expr, strings.Join(all, " "))}
	}
	if inner, ok := strings.CutSuffix(expr, "[]"); ok {
		inner = strings.TrimSuffix(strings.TrimPrefix(inner, "("), ")")
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want an array", path, jsonKind(v))}
		}
		var errs []string
		for i, e := range arr {
			errs = append(errs, s.checkExpr(l, inner, e, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	if strings.HasPrefix(expr, "(") && strings.HasSuffix(expr, ")") {
		return s.checkExpr(l, expr[1:len(expr)-1], v, path)
	}
	switch expr {
	case "any", "":
		return nil
	case "nil":
		if v != nil {
			return []string{fmt.Sprintf("%s: %s, want null", path, jsonKind(v))}
		}
		return nil
	case "string":
		if _, ok := v.(string); !ok {
			return []string{fmt.Sprintf("%s: %s, want a string", path, jsonKind(v))}
		}
		return nil
	case "datetime", "datetime-only", "date-only", "time-only":
		str, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want a %s string", path, jsonKind(v), expr)}
		}
		if s.marathonTime && expr == "datetime" && !marathonTimeRE.MatchString(str) {
			return []string{fmt.Sprintf("%s: %q is not Marathon's timestamp format (2006-01-02T15:04:05.000Z)", path, str)}
		}
		if expr == "datetime" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return []string{fmt.Sprintf("%s: %q is not RFC 3339", path, str)}
			}
		}
		return nil
	case "number":
		if _, ok := v.(json.Number); !ok {
			return []string{fmt.Sprintf("%s: %s, want a number", path, jsonKind(v))}
		}
		return nil
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return []string{fmt.Sprintf("%s: %s, want an integer", path, jsonKind(v))}
		}
		if _, err := n.Int64(); err != nil {
			return []string{fmt.Sprintf("%s: %s is not an integer", path, n)}
		}
		return nil
	case "boolean":
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: %s, want a boolean", path, jsonKind(v))}
		}
		return nil
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return []string{fmt.Sprintf("%s: %s, want an object", path, jsonKind(v))}
		}
		return nil
	case "array":
		if _, ok := v.([]any); !ok {
			return []string{fmt.Sprintf("%s: %s, want an array", path, jsonKind(v))}
		}
		return nil
	}
	ol, d, ok := s.lookup(l, expr)
	if !ok {
		return []string{fmt.Sprintf("%s: raml: unknown type %q in %s", path, expr, l.file)}
	}
	return s.checkDecl(ol, expr[strings.LastIndex(expr, ".")+1:], d, v, path)
}

// checkDecl checks v against a declaration: a type expression string or a
// map of facets.
func (s *ramlSchema) checkDecl(l *ramlLib, name string, decl any, v any, path string) []string {
	switch d := decl.(type) {
	case nil:
		// A property without a declaration is a string in RAML 1.0.
		return s.checkExpr(l, "string", v, path)
	case string:
		return s.checkExpr(l, d, v, path)
	case map[string]any:
		if s.isObject(l, d) {
			return s.checkObject(l, name, d, v, path)
		}
		base, _ := d["type"].(string)
		if base == "" {
			switch {
			case d["items"] != nil:
				base = "array"
			case d["enum"] != nil || d["pattern"] != nil:
				base = "string"
			default:
				base = "any"
			}
		}
		errs := s.checkExpr(l, base, v, path)
		if len(errs) > 0 {
			return errs
		}
		if items, ok := d["items"]; ok {
			for i, e := range v.([]any) {
				errs = append(errs, s.checkDecl(l, "", items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
		if enum, ok := d["enum"].([]any); ok {
			found := false
			for _, e := range enum {
				if fmt.Sprint(e) == fmt.Sprint(v) {
					found = true
				}
			}
			if !found {
				errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", path, v, enum))
			}
		}
		if p, ok := d["pattern"].(string); ok {
			if str, ok := v.(string); ok {
				if re, err := regexp.Compile(p); err == nil && !re.MatchString(str) {
					errs = append(errs, fmt.Sprintf("%s: %q does not match %s", path, str, p))
				}
			}
		}
		if n, ok := v.(json.Number); ok {
			f, _ := n.Float64()
			if m, ok := toFloat(d["minimum"]); ok && f < m {
				errs = append(errs, fmt.Sprintf("%s: %v below minimum %v", path, n, m))
			}
			if m, ok := toFloat(d["maximum"]); ok && f > m {
				errs = append(errs, fmt.Sprintf("%s: %v above maximum %v", path, n, m))
			}
		}
		return errs
	}
	return []string{fmt.Sprintf("%s: raml: declaration %T not understood", path, decl)}
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// isObject tells whether a facet map declares an object type, directly or
// through its base type.
func (s *ramlSchema) isObject(l *ramlLib, d map[string]any) bool {
	if _, ok := d["properties"]; ok {
		return true
	}
	base, _ := d["type"].(string)
	if base == "object" {
		return true
	}
	if base == "" || strings.ContainsAny(base, "|[") {
		return false
	}
	ol, bd, ok := s.lookup(l, base)
	if !ok {
		return false
	}
	m, ok := bd.(map[string]any)
	return ok && s.isObject(ol, m)
}

type ramlProp struct {
	lib      *ramlLib
	decl     any
	required bool
	pattern  *regexp.Regexp
}

// props collects the properties of an object declaration and its bases;
// open reports additionalProperties: true.
func (s *ramlSchema) props(l *ramlLib, d map[string]any) (named map[string]ramlProp, patterns []ramlProp, open bool) {
	named = map[string]ramlProp{}
	if base, _ := d["type"].(string); base != "" && base != "object" {
		if ol, bd, ok := s.lookup(l, base); ok {
			if m, ok := bd.(map[string]any); ok {
				n, p, o := s.props(ol, m)
				maps.Copy(named, n)
				patterns, open = p, o
			}
		}
	}
	if ap, ok := d["additionalProperties"].(bool); ok {
		open = ap
	}
	pm, _ := d["properties"].(map[string]any)
	for k, pd := range pm {
		p := ramlProp{lib: l, decl: pd, required: true}
		if strings.HasPrefix(k, "/") && strings.HasSuffix(k, "/") && len(k) > 1 {
			p.pattern = regexp.MustCompile(k[1 : len(k)-1])
			patterns = append(patterns, p)
			continue
		}
		if name, ok := strings.CutSuffix(k, "?"); ok {
			k, p.required = name, false
		}
		if m, ok := pd.(map[string]any); ok {
			if r, ok := m["required"].(bool); ok {
				p.required = r
			}
		}
		named[k] = p
	}
	return named, patterns, open
}

func (s *ramlSchema) checkObject(l *ramlLib, name string, d map[string]any, v any, path string) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: %s, want an object", path, jsonKind(v))}
	}
	named, patterns, open := s.props(l, d)
	var errs []string
	for _, k := range slices.Sorted(maps.Keys(named)) {
		if _, ok := obj[k]; !ok && named[k].required {
			errs = append(errs, fmt.Sprintf("%s: required key %q missing", path, k))
		}
	}
	keys := slices.Sorted(maps.Keys(obj))
	for _, k := range keys {
		p, ok := named[k]
		if !ok {
			for _, pp := range patterns {
				if pp.pattern.MatchString(k) {
					p, ok = pp, true
					break
				}
			}
		}
		if s.deviations[l.file+"#"+name+"."+k] != "" && (!ok || obj[k] == nil) {
			continue
		}
		if !ok {
			if !open {
				errs = append(errs, fmt.Sprintf("%s: key %q not in the type", path, k))
			}
			continue
		}
		errs = append(errs, s.checkDecl(p.lib, "", p.decl, obj[k], path+"."+k)...)
	}
	return errs
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return v
}

// The reader itself, on the upstream examples: Marathon's own sample
// bodies must pass, and a body with an invented key must not.
func TestRAMLReaderOnUpstreamExamples(t *testing.T) {
	s := loadRAML(t, "testdata/raml/v2/types")
	for _, c := range []struct{ file, lib, typ string }{
		{"v1.10_raml_example_tasks.json", "task.raml", "TaskList"},
		{"v1.10_raml_example_deployments_result.json", "deploymentResult.raml", "DeploymentResult"},
	} {
		b, err := os.ReadFile("testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		if errs := s.check(c.lib, c.typ, decodeNumbers(t, b)); len(errs) > 0 {
			t.Errorf("%s against %s: %s", c.file, c.typ, strings.Join(errs, "\n"))
		}
	}
	bad := decodeNumbers(t, []byte(`{"tasks":[{"appId":"/a","host":"h","id":"a.1","state":"TASK_RUNNNING","role":"*","agentId":"x"}]}`))
	errs := s.check("task.raml", "TaskList", bad)
	sort.Strings(errs)
	want := []string{
		`$.tasks[0].state: TASK_RUNNNING is not one of [TASK_ERROR TASK_FAILED TASK_FINISHED TASK_KILLED TASK_KILLING TASK_RUNNING TASK_STAGING TASK_STARTING TASK_UNREACHABLE TASK_UNKNOWN TASK_GONE TASK_DROPPED]`,
		`$.tasks[0]: key "agentId" not in the type`,
	}
	if !slices.Equal(errs, want) {
		t.Fatalf("errors\n%s\nwant\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"))
	}
	if errs := s.check("task.raml", "TaskList", decodeNumbers(t, []byte(`{"tasks":[{}]}`))); len(errs) != 5 {
		t.Fatalf("missing required keys: %v", errs)
	}
}
