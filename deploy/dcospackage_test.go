package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cbroglie/mustache"
	marathon "github.com/gambol99/go-marathon"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/arangoscale/arangoscale/config"
)

// The Universe package (deploy/dcos-package) is what `dcos package install
// arangoscale --options=options.json` runs: Cosmos merges the options over
// the defaults of config.json, validates them against it, and renders
// marathon.json.mustache with them and resource.json. These tests do the
// same with a Go mustache and a JSON-schema library.

const pkgDir = "dcos-package"

// haVars are passed through for the HA mode (leader election on
// ZooKeeper); they are valid once config accepts them.
var haVars = []string{"ARANGOSCALE_ZK", "ARANGOSCALE_ZK_AUTH_FILE"}

type dcosPackage struct {
	schemaDoc map[string]any
	schema    *jsonschema.Schema
	tmpl      *mustache.Template
	resource  any
}

func loadPackage(t *testing.T) *dcosPackage {
	t.Helper()
	// A variable the template names but the options lack is an error, as
	// in Cosmos, not an empty string.
	mustache.AllowMissingVariables = false
	p := &dcosPackage{}
	cfg := readJSON(t, filepath.Join(pkgDir, "config.json"))
	p.schemaDoc = cfg.(map[string]any)
	c := jsonschema.NewCompiler()
	if err := c.AddResource("config.json", cfg); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("config.json")
	if err != nil {
		t.Fatalf("config.json: %v", err)
	}
	p.schema = s
	text, err := os.ReadFile(filepath.Join(pkgDir, "marathon.json.mustache"))
	if err != nil {
		t.Fatal(err)
	}
	if p.tmpl, err = mustache.ParseString(string(text)); err != nil {
		t.Fatalf("marathon.json.mustache: %v", err)
	}
	p.resource = readJSON(t, filepath.Join(pkgDir, "resource.json"))
	return p
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// defaults are the "default"s of an object schema's properties, nested.
func defaults(schema map[string]any) map[string]any {
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	for k, v := range props {
		ps := v.(map[string]any)
		if d, ok := ps["default"]; ok {
			out[k] = d
		} else if _, ok := ps["properties"]; ok {
			out[k] = defaults(ps)
		}
	}
	return out
}

// merge lays the user's options over the defaults, object by object.
func merge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		bo, ok1 := out[k].(map[string]any)
		vo, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = merge(bo, vo)
			continue
		}
		out[k] = v
	}
	return out
}

// render validates options (merged over the defaults) and renders the app.
func (p *dcosPackage) render(options map[string]any) ([]byte, map[string]any, error) {
	merged := merge(defaults(p.schemaDoc), options)
	if err := p.schema.Validate(merged); err != nil {
		return nil, merged, err
	}
	ctx := maps.Clone(merged)
	ctx["resource"] = p.resource
	out, err := p.tmpl.Render(ctx)
	if err != nil {
		return nil, merged, fmt.Errorf("marathon.json.mustache: %w", err)
	}
	if !json.Valid([]byte(out)) {
		return nil, merged, fmt.Errorf("rendered marathon.json is not JSON:\n%s", out)
	}
	return []byte(out), merged, nil
}

func options(t *testing.T, path string) map[string]any {
	t.Helper()
	v, ok := readJSON(t, path).(map[string]any)
	if !ok {
		t.Fatalf("%s: not a JSON object", path)
	}
	return v
}

// generic decodes JSON into plain values, for comparing documents.
func generic(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// The package installed with its defaults is the hand-written app: one is
// tested against the other so they cannot drift apart.
func TestPackageDefaultsAreTheMarathonApp(t *testing.T) {
	p := loadPackage(t)
	out, _, err := p.render(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	checkControllerApp(t, "rendered defaults", out)
	hand, err := os.ReadFile(filepath.Join("marathon", "arangoscale.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, want := generic(t, out), generic(t, hand)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("package defaults and marathon/arangoscale.json differ:\nrendered:\n%s\nmarathon/arangoscale.json:\n%s", g, w)
	}
}

func TestPackageFullOptions(t *testing.T) {
	p := loadPackage(t)
	opts := options(t, filepath.Join("testdata", "dcos-package", "full-options.json"))
	out, merged, err := p.render(opts)
	if err != nil {
		t.Fatal(err)
	}
	app := checkControllerApp(t, "rendered full-options.json", out)
	var raw rawApp
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	svc := merged["service"].(map[string]any)
	name := svc["name"].(string)
	if app.ID != "/"+name || (*app.Labels)["DCOS_SERVICE_NAME"] != name {
		t.Errorf("id %q, DCOS_SERVICE_NAME %q: want /%s and %s", app.ID, (*app.Labels)["DCOS_SERVICE_NAME"], name, name)
	}
	if *app.Instances != 2 || app.CPUs != 0.5 || *app.Mem != 256 {
		t.Errorf("instances %d cpus %v mem %v, want 2, 0.5, 256", *app.Instances, app.CPUs, *app.Mem)
	}
	if port := (*app.PortDefinitions)[0]; (*port.Labels)["VIP_0"] != "/"+name+":9100" {
		t.Errorf("VIP_0 %q", (*port.Labels)["VIP_0"])
	}
	wantEnv := map[string]string{
		"ARANGOSCALE_POLICY_FILE":               "https://config.example.com/arangoscale/policies.yaml?ref=main&raw=1",
		"ARANGOSCALE_MARATHON_URL":              "http://marathon.mesos:8080",
		"ARANGOSCALE_MESOS_URL":                 "http://leader.mesos:5050",
		"ARANGOSCALE_INTERVAL":                  "30s",
		"ARANGOSCALE_SOURCE_TIMEOUT":            "4s",
		"ARANGOSCALE_DRY_RUN":                   "true",
		"ARANGOSCALE_DISCOVERY":                 "false",
		"ARANGOSCALE_LOG_LEVEL":                 "debug",
		"ARANGOSCALE_LOG_FORMAT":                "text",
		"ARANGOSCALE_CA_FILE":                   "/mnt/mesos/sandbox/ca.pem",
		"ARANGOSCALE_PROMETHEUS_URL":            "http://prometheus.marathon.l4lb.thisdcos.directory:9090",
		"ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE": "/mnt/mesos/sandbox/dcos-service-account.json",
		"ARANGOSCALE_ADMIN_TOKEN_FILE":          "/mnt/mesos/sandbox/admin-token",
		"ARANGOSCALE_ARANGODB_USERNAME":         "arangoscale",
		"ARANGOSCALE_ARANGODB_PASSWORD_FILE":    "/mnt/mesos/sandbox/arangodb-password",
		"ARANGOSCALE_ARANGODB_JWT_SECRET_FILE":  "/mnt/mesos/sandbox/arangodb-jwt-secret",
		"ARANGOSCALE_ZK":                        "zk://zk-1.zookeeper:2181,zk-2.zookeeper:2181/arangoscale",
		"ARANGOSCALE_ZK_AUTH_FILE":              "/mnt/mesos/sandbox/zookeeper-auth",
	}
	if !maps.Equal(*app.Env, wantEnv) {
		t.Errorf("env\n got %v\nwant %v", *app.Env, wantEnv)
	}
	wantSecrets := map[string]string{
		"serviceAccount":    "ops/arangoscale/service-account",
		"arangodbJWTSecret": "ops/arangodb/jwt-secret",
		"adminToken":        "ops/arangoscale/admin-token",
		"arangodbPassword":  "ops/arangodb/arangoscale-password",
		"zookeeperAuth":     "ops/arangoscale/zookeeper-digest",
	}
	gotSecrets := map[string]string{}
	for k, v := range raw.Secrets {
		gotSecrets[k] = v.Source
	}
	if !maps.Equal(gotSecrets, wantSecrets) {
		t.Errorf("secrets\n got %v\nwant %v", gotSecrets, wantSecrets)
	}
	if hc := (*app.HealthChecks)[0]; hc.GracePeriodSeconds != 60 || hc.MaxConsecutiveFailures == nil || *hc.MaxConsecutiveFailures != 3 {
		t.Errorf("health check %+v", hc)
	}
}

// Every combination of the optional secrets renders JSON whose *_FILE
// variables point at mounted secrets, and only at declared ones.
func TestPackageSecretCombinations(t *testing.T) {
	p := loadPackage(t)
	secrets := []struct{ group, key, value string }{
		{"service", "service_account_secret", "a/sa"},
		{"arangodb", "jwt_secret_secret", "a/jwt"},
		{"service", "admin_token_secret", "a/admin"},
		{"arangodb", "password_secret", "a/pw"},
		{"ha", "zookeeper_auth_secret", "a/zk"},
	}
	for policyFromURL := range 2 {
		for mask := range 1 << len(secrets) {
			opts := map[string]any{"service": map[string]any{}, "arangodb": map[string]any{}, "ha": map[string]any{}}
			if policyFromURL == 1 {
				opts["policy"] = map[string]any{"secret": "", "url": "https://policy.example.com/p.yaml"}
			}
			want := 0
			for i, s := range secrets {
				v := ""
				if mask&(1<<i) != 0 {
					v = s.value
					want++
				}
				opts[s.group].(map[string]any)[s.key] = v
			}
			if policyFromURL == 0 {
				want++
			}
			name := fmt.Sprintf("url=%d secrets=%05b", policyFromURL, mask)
			out, _, err := p.render(opts)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var raw rawApp
			if err := json.Unmarshal(out, &raw); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(raw.Secrets) != want || len(raw.Container.Volumes) != want {
				t.Errorf("%s: %d secrets, %d volumes, want %d of each", name, len(raw.Secrets), len(raw.Container.Volumes), want)
			}
			checkControllerApp(t, name, out)
		}
	}
}

// Every variable the package can set is one the controller accepts: an
// unknown ARANGOSCALE_* variable stops it at start.
func TestPackageEnvIsKnownToConfig(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(pkgDir, "marathon.json.mustache"))
	if err != nil {
		t.Fatal(err)
	}
	known := append(config.Names(), haVars...)
	for _, f := range strings.Fields(strings.NewReplacer(`"`, " ", ":", " ").Replace(string(text))) {
		if strings.HasPrefix(f, "ARANGOSCALE_") && !slices.Contains(known, f) {
			t.Errorf("marathon.json.mustache sets %s, which config does not know", f)
		}
	}
}

// A bad options file is refused with the schema error at its JSON path,
// and nothing is rendered.
func TestPackageBadOptions(t *testing.T) {
	p := loadPackage(t)
	cases := map[string]string{
		"bad-cpus.json":                "/service/cpus",
		"bad-unknown-option.json":      "/service",
		"bad-log-level.json":           "/service/log_level",
		"bad-discovery.json":           "/service/discovery",
		"bad-interval.json":            "/service/interval",
		"bad-two-instances-no-ha.json": "/service/instances",
		"bad-policy-both.json":         "/policy",
		"bad-policy-url-quote.json":    "/policy/url",
		"bad-secret-path.json":         "/arangodb/jwt_secret_secret",
		"bad-zookeeper.json":           "/ha/zookeeper",
	}
	for file, path := range cases {
		t.Run(file, func(t *testing.T) {
			out, _, err := p.render(options(t, filepath.Join("testdata", "dcos-package", file)))
			if err == nil {
				t.Fatalf("accepted, rendered:\n%s", out)
			}
			var ve *jsonschema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("not a schema error: %v", err)
			}
			if out != nil {
				t.Error("rendered despite the error")
			}
			if locs := locations(ve); !slices.Contains(locs, path) {
				t.Errorf("error at %v, want %s:\n%v", locs, path, err)
			}
			if !strings.Contains(err.Error(), "'"+path+"'") {
				t.Errorf("message does not name %s:\n%v", path, err)
			}
		})
	}
}

// locations are the JSON pointers of an error and all its causes.
func locations(e *jsonschema.ValidationError) []string {
	out := []string{"/" + strings.Join(e.InstanceLocation, "/")}
	for _, c := range e.Causes {
		out = append(out, locations(c)...)
	}
	return out
}

// package.json is a packagingVersion 4.0 package (Universe's
// repo/meta/schema/package-schema.json, v40Package): its required fields
// and no others, and the image of resource.json is the app's.
func TestPackageMetadata(t *testing.T) {
	var pkg map[string]any
	decodeJSON(t, filepath.Join(pkgDir, "package.json"), &pkg)
	for _, k := range []string{"packagingVersion", "name", "version", "maintainer", "description", "tags",
		"upgradesFrom", "downgradesTo", "minDcosReleaseVersion"} {
		if _, ok := pkg[k]; !ok {
			t.Errorf("package.json lacks %s", k)
		}
	}
	allowed := []string{"packagingVersion", "name", "version", "scm", "maintainer", "website", "description", "framework",
		"upgradesFrom", "downgradesTo", "preInstallNotes", "postInstallNotes", "postUninstallNotes", "tags", "selected",
		"licenses", "minDcosReleaseVersion"}
	for k := range pkg {
		if !slices.Contains(allowed, k) {
			t.Errorf("package.json: %s is not a field of packagingVersion 4.0", k)
		}
	}
	if pkg["packagingVersion"] != "4.0" || pkg["name"] != "arangoscale" {
		t.Errorf("packagingVersion %v name %v", pkg["packagingVersion"], pkg["name"])
	}
	var res struct {
		Assets struct {
			Container struct{ Docker map[string]string }
		}
	}
	decodeJSON(t, filepath.Join(pkgDir, "resource.json"), &res)
	var app marathon.Application
	decodeJSON(t, filepath.Join("marathon", "arangoscale.json"), &app)
	if img := res.Assets.Container.Docker["arangoscale"]; img != app.Container.Docker.Image {
		t.Errorf("resource.json image %q, marathon/arangoscale.json %q", img, app.Container.Docker.Image)
	}
	if v, _ := pkg["version"].(string); !strings.HasPrefix(v, strings.TrimPrefix(app.Container.Docker.Image, "arangoscale/arangoscale:")+"-") {
		t.Errorf("package version %q is not <image version>-<package revision>", v)
	}
}
