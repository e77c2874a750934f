package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// env is a lookup over a map, so tests never touch the process environment.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// base is a valid environment: only the policy file must exist.
func base(t *testing.T) env {
	return env{"ARANGOSCALE_POLICY_FILE": writeFile(t, "policies.yaml", "clusters: []\n")}
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policies.yaml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // the default policy path is relative
	c, err := FromEnv(env{}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		PolicyFile: "policies.yaml", MarathonURL: "http://marathon.mesos:8080", MesosURL: "http://leader.mesos:5050",
		Listen: ":9100", Interval: 15 * time.Second, LogLevel: "info", LogFormat: "json", SourceTimeout: 5 * time.Second, Discovery: "auto",
		ZKSessionTimeout: 10 * time.Second,
	}
	if *c != want {
		t.Fatalf("defaults:\n got %+v\nwant %+v", *c, want)
	}
}

func TestListenFromPORT0(t *testing.T) {
	e := base(t)
	e["PORT0"] = "31000"
	c, err := FromEnv(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":31000" {
		t.Fatalf("Listen = %q, want :31000", c.Listen)
	}
	e["ARANGOSCALE_LISTEN"] = "127.0.0.1:9200"
	if c, err = FromEnv(e.lookup); err != nil || c.Listen != "127.0.0.1:9200" {
		t.Fatalf("explicit LISTEN: %v %v", c, err)
	}
}

func TestAllValuesSet(t *testing.T) {
	e := base(t)
	pw := writeFile(t, "pw", "s3cret\n")
	e["ARANGOSCALE_MARATHON_URL"] = "https://dcos.example.com/service/marathon"
	e["ARANGOSCALE_MESOS_URL"] = "https://dcos.example.com/mesos"
	e["ARANGOSCALE_INTERVAL"] = "30s"
	e["ARANGOSCALE_DRY_RUN"] = "true"
	e["ARANGOSCALE_LOG_LEVEL"] = "debug"
	e["ARANGOSCALE_LOG_FORMAT"] = "text"
	e["ARANGOSCALE_SOURCE_TIMEOUT"] = "2s"
	e["ARANGOSCALE_ARANGODB_USERNAME"] = "root"
	e["ARANGOSCALE_ARANGODB_PASSWORD_FILE"] = pw
	e["ARANGOSCALE_PROMETHEUS_URL"] = "http://prometheus.marathon.l4lb.thisdcos.directory:9090"
	c, err := FromEnv(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DryRun || c.Interval != 30*time.Second || c.LogFormat != "text" || c.SourceTimeout != 2*time.Second ||
		c.ArangoDBPasswordFile != pw || c.Level() != slog.LevelDebug {
		t.Fatalf("got %+v", c)
	}
}

func TestBadValues(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	dir := t.TempDir()
	notPEM := writeFile(t, "ca.txt", "hello\n")
	secret := writeFile(t, "secret", "x\n")
	cases := []struct {
		set  env
		want string
	}{
		{env{"ARANGOSCALE_POLICY_FILE": missing}, `ARANGOSCALE_POLICY_FILE: cannot read "` + missing + `": no such file or directory`},
		{env{"ARANGOSCALE_POLICY_FILE": dir}, `ARANGOSCALE_POLICY_FILE: "` + dir + `" is a directory, want a file`},
		{env{"ARANGOSCALE_POLICY_FILE": "ftp://x/p.yaml"}, `ARANGOSCALE_POLICY_FILE: cannot read "ftp://x/p.yaml": no such file or directory`},
		{env{"ARANGOSCALE_POLICY_FILE": "https:///p.yaml"}, `ARANGOSCALE_POLICY_FILE: invalid URL "https:///p.yaml" (want http://host[:port][/path] or https://…)`},
		{env{"ARANGOSCALE_MARATHON_URL": "marathon.mesos:8080"}, `ARANGOSCALE_MARATHON_URL: invalid URL "marathon.mesos:8080" (want http://host[:port][/path] or https://…)`},
		{env{"ARANGOSCALE_MESOS_URL": "ftp://leader.mesos"}, `ARANGOSCALE_MESOS_URL: invalid URL "ftp://leader.mesos" (want http://host[:port][/path] or https://…)`},
		{env{"ARANGOSCALE_MESOS_URL": "http://u:pw@leader.mesos:bad"}, `ARANGOSCALE_MESOS_URL: invalid URL "http://u:pw@leader.mesos:bad" (want http://host[:port][/path] or https://…)`},
		{env{"ARANGOSCALE_LISTEN": "9100"}, `ARANGOSCALE_LISTEN: invalid address "9100" (want host:port or :port)`},
		{env{"ARANGOSCALE_LISTEN": ":http2"}, `ARANGOSCALE_LISTEN: invalid port in ":http2" (from ARANGOSCALE_LISTEN or PORT0)`},
		{env{"PORT0": "abc"}, `ARANGOSCALE_LISTEN: invalid port in ":abc" (from ARANGOSCALE_LISTEN or PORT0)`},
		{env{"ARANGOSCALE_INTERVAL": "15"}, `ARANGOSCALE_INTERVAL: invalid duration "15" (want e.g. 15s)`},
		{env{"ARANGOSCALE_INTERVAL": "0s"}, `ARANGOSCALE_INTERVAL: must be positive, got 0s`},
		{env{"ARANGOSCALE_INTERVAL": "-5s"}, `ARANGOSCALE_INTERVAL: must be positive, got -5s`},
		{env{"ARANGOSCALE_DRY_RUN": "yes"}, `ARANGOSCALE_DRY_RUN: invalid boolean "yes" (want true or false)`},
		{env{"ARANGOSCALE_LOG_LEVEL": "verbose"}, `ARANGOSCALE_LOG_LEVEL: unknown level "verbose" (want debug, info, warn or error)`},
		{env{"ARANGOSCALE_LOG_FORMAT": "logfmt"}, `ARANGOSCALE_LOG_FORMAT: unknown format "logfmt" (want json or text)`},
		{env{"ARANGOSCALE_DISCOVERY": "yes"}, `ARANGOSCALE_DISCOVERY: unknown value "yes" (want true, false or auto)`},
		{env{"ARANGOSCALE_SOURCE_TIMEOUT": "5"}, `ARANGOSCALE_SOURCE_TIMEOUT: invalid duration "5" (want e.g. 15s)`},
		{env{"ARANGOSCALE_SOURCE_TIMEOUT": "0s"}, `ARANGOSCALE_SOURCE_TIMEOUT: must be positive, got 0s`},
		{env{"ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE": missing}, `ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE: cannot read "` + missing + `": no such file or directory`},
		{env{"ARANGOSCALE_DCOS_TOKEN_FILE": missing}, `ARANGOSCALE_DCOS_TOKEN_FILE: cannot read "` + missing + `": no such file or directory`},
		{env{"ARANGOSCALE_DCOS_TOKEN_FILE": secret, "ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE": secret}, `ARANGOSCALE_DCOS_TOKEN_FILE: set only one of ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE and ARANGOSCALE_DCOS_TOKEN_FILE`},
		{env{"ARANGOSCALE_ARANGODB_PASSWORD_FILE": secret}, `ARANGOSCALE_ARANGODB_USERNAME: required when ARANGOSCALE_ARANGODB_PASSWORD_FILE is set`},
		{env{"ARANGOSCALE_ARANGODB_USERNAME": "root", "ARANGOSCALE_ARANGODB_PASSWORD_FILE": missing}, `ARANGOSCALE_ARANGODB_PASSWORD_FILE: cannot read "` + missing + `": no such file or directory`},
		{env{"ARANGOSCALE_ARANGODB_JWT_SECRET_FILE": dir}, `ARANGOSCALE_ARANGODB_JWT_SECRET_FILE: "` + dir + `" is a directory, want a file`},
		{env{"ARANGOSCALE_ARANGODB_JWT_SECRET_FILE": secret, "ARANGOSCALE_ARANGODB_USERNAME": "root", "ARANGOSCALE_ARANGODB_PASSWORD_FILE": secret}, `ARANGOSCALE_ARANGODB_JWT_SECRET_FILE: set only one of ARANGOSCALE_ARANGODB_PASSWORD_FILE and ARANGOSCALE_ARANGODB_JWT_SECRET_FILE`},
		{env{"ARANGOSCALE_CA_FILE": missing}, `ARANGOSCALE_CA_FILE: cannot read "` + missing + `": no such file or directory`},
		{env{"ARANGOSCALE_CA_FILE": notPEM}, `ARANGOSCALE_CA_FILE: "` + notPEM + `" holds no PEM certificate`},
		{env{"ARANGOSCALE_PROMETHEUS_URL": "prometheus:9090"}, `ARANGOSCALE_PROMETHEUS_URL: invalid URL "prometheus:9090" (want http://host[:port][/path] or https://…)`},
		{env{"ARANGOSCALE_ADMIN_TOKEN_FILE": missing}, `ARANGOSCALE_ADMIN_TOKEN_FILE: cannot read "` + missing + `": no such file or directory`},
		{env{"ARANGOSCALE_INTERVAL": "1\n5"}, `ARANGOSCALE_INTERVAL: invalid duration "1\n5" (want e.g. 15s)`},
	}
	for _, tc := range cases {
		e := base(t)
		for k, v := range tc.set {
			e[k] = v
		}
		_, err := FromEnv(e.lookup)
		if err == nil {
			t.Errorf("%v: no error, want %s", tc.set, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.set, err, tc.want)
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("%v: error spans lines: %q", tc.set, err)
		}
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), ce.Var+": ") {
			t.Errorf("%v: not a *config.Error naming the variable: %#v", tc.set, err)
		}
	}
}

// The struct tags are envconfig's: envconfig.Process over the same
// environment must agree with FromEnv, so Usage documents what FromEnv reads.
func TestAgreesWithEnvconfig(t *testing.T) {
	e := base(t)
	e["ARANGOSCALE_INTERVAL"] = "45s"
	e["ARANGOSCALE_DRY_RUN"] = "true"
	e["ARANGOSCALE_LOG_FORMAT"] = "text"
	e["ARANGOSCALE_LISTEN"] = ":9200"
	e["ARANGOSCALE_MESOS_URL"] = "https://m.example:5050"
	for k, v := range e {
		t.Setenv(k, v)
	}
	var viaEnvconfig Config
	if err := envconfig.Process(Prefix, &viaEnvconfig); err != nil {
		t.Fatal(err)
	}
	got, err := FromEnv(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if *got != viaEnvconfig {
		t.Fatalf("FromEnv %+v\nenvconfig %+v", *got, viaEnvconfig)
	}
	var buf bytes.Buffer
	if err := Usage(&buf); err != nil || !strings.Contains(buf.String(), "ARANGOSCALE_ADMIN_TOKEN_FILE") {
		t.Fatalf("Usage: %v\n%s", err, buf.String())
	}
}

func TestLoadSecretsAndRedaction(t *testing.T) {
	const (
		pw    = "hunter2-password"
		jwt   = "jwt-secret-value"
		token = "dcos-acs-token-value"
		admin = "admin-token-value"
		key   = "-----BEGIN PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END PRIVATE KEY-----\n"
	)
	sa, _ := json.Marshal(map[string]string{"uid": "arangoscale", "private_key": key, "scheme": "RS256"})
	c := &Config{
		DCOSServiceAccountFile: writeFile(t, "sa.json", string(sa)),
		ArangoDBPasswordFile:   writeFile(t, "pw", pw+"\n"),
		AdminTokenFile:         writeFile(t, "admin", admin+"\r\n"),
	}
	s, err := c.LoadSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if s.ArangoDBPassword != pw || s.AdminToken != admin || !bytes.Equal(s.DCOSServiceAccount, sa) {
		t.Fatalf("secrets not read or not trimmed: %q %q", s.ArangoDBPassword, s.AdminToken)
	}
	c2 := &Config{ArangoDBJWTSecretFile: writeFile(t, "jwt", jwt+"\n"), DCOSTokenFile: writeFile(t, "tok", token)}
	s2, err := c2.LoadSecrets()
	if err != nil || s2.ArangoDBJWTSecret != jwt || s2.DCOSToken != token {
		t.Fatalf("got %q %q %v", s2.ArangoDBJWTSecret, s2.DCOSToken, err)
	}
	s.ArangoDBJWTSecret, s.DCOSToken = jwt, token

	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T %v"} {
		fmt.Fprintf(&out, verb+"\n", s)
		fmt.Fprintf(&out, verb+"\n", &s)
	}
	fmt.Fprintln(&out, s, []Secrets{s}, map[string]any{"s": s}, struct{ S Secrets }{s})
	j, _ := json.Marshal(map[string]any{"secrets": s})
	out.Write(j)
	for _, h := range []slog.Handler{slog.NewJSONHandler(&out, nil), slog.NewTextHandler(&out, nil)} {
		slog.New(h).Info("loaded", "secrets", s, "ptr", &s)
	}
	for _, secret := range []string{pw, jwt, token, admin, "MIIEsecretkeymaterial", "68756e746572"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("secret %q leaked in:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), redacted) || !strings.Contains(out.String(), "arangodb_password_set") {
		t.Errorf("redacted output not as expected:\n%s", out.String())
	}
}

func TestLoadSecretsErrors(t *testing.T) {
	cases := []struct {
		c    Config
		want string
	}{
		{Config{ArangoDBPasswordFile: writeFile(t, "empty", "\n")}, "ARANGOSCALE_ARANGODB_PASSWORD_FILE: "},
		{Config{DCOSServiceAccountFile: writeFile(t, "sa", `{"uid":"x","private_key":"MIIEsecret"`)}, "ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE: "},
		{Config{DCOSServiceAccountFile: writeFile(t, "sa2", `{"private_key":"-----BEGIN PRIVATE KEY-----"}`)}, `missing "uid"`},
		{Config{DCOSServiceAccountFile: writeFile(t, "sa3", `{"uid":"a","private_key":"MIIEsecret"}`)}, `malformed "private_key"`},
	}
	for _, tc := range cases {
		_, err := tc.c.LoadSecrets()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "MIIEsecret") {
			t.Errorf("%+v: got %v, want …%s…", tc.c, err, tc.want)
		}
	}
}

// Without CA_FILE the system roots are left to crypto/tls (read on the
// first handshake, not at start), and verification stays on: a server
// with a certificate of no system CA is refused.
func TestTLSConfigWithoutCAVerifiesAgainstSystemRoots(t *testing.T) {
	c, err := FromEnv(base(t).lookup)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := c.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tc.InsecureSkipVerify || tc.RootCAs != nil {
		t.Fatalf("want verification against the system roots: %+v", tc)
	}
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	resp, err := client.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a certificate of no system CA was accepted")
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("want an unknown-authority error, got %v", err)
	}
}

func TestTLSConfigWithCA(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "arangoscale test CA"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	ca := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	e := base(t)
	e["ARANGOSCALE_CA_FILE"] = ca
	c, err := FromEnv(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := c.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tc.InsecureSkipVerify || tc.RootCAs == nil {
		t.Fatalf("TLS config must verify with a root pool: %+v", tc)
	}
	cert, _ := x509.ParseCertificate(der)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: tc.RootCAs}); err != nil {
		t.Fatalf("CA from CA_FILE not trusted: %v", err)
	}
	c.CAFile = writeFile(t, "bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	if _, err := c.TLSConfig(); err == nil || !strings.HasPrefix(err.Error(), "ARANGOSCALE_CA_FILE: ") {
		t.Fatalf("bad certificate: %v", err)
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	c := &Config{LogLevel: "warn", LogFormat: "json"}
	l := c.Logger(&buf)
	l.Info("hidden")
	l.Warn("shown", "cluster", "prod")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m["msg"] != "shown" || m["cluster"] != "prod" {
		t.Fatalf("json logger wrote %q (%v)", buf.String(), err)
	}
	buf.Reset()
	c = &Config{LogLevel: "debug", LogFormat: "text"}
	c.Logger(&buf).Debug("dbg", "role", "dbservers")
	if !strings.Contains(buf.String(), "msg=dbg role=dbservers") {
		t.Fatalf("text logger wrote %q", buf.String())
	}
}

// TestUnknownVariableStopsStart: a misspelled ARANGOSCALE_* variable is
// refused with one line naming it and the closest known name.
func TestUnknownVariableStopsStart(t *testing.T) {
	for in, want := range map[string]string{
		"ARANGOSCALE_INTERVL=5s":        "ARANGOSCALE_INTERVL: unknown variable; did you mean ARANGOSCALE_INTERVAL?",
		"ARANGOSCALE_ADMIN_TOKEN=x":     "ARANGOSCALE_ADMIN_TOKEN: unknown variable; did you mean ARANGOSCALE_ADMIN_TOKEN_FILE?",
		"ARANGOSCALE_DRYRUN=true":       "ARANGOSCALE_DRYRUN: unknown variable; did you mean ARANGOSCALE_DRY_RUN?",
		"ARANGOSCALE_PPROF=127.0.0.1:1": "ARANGOSCALE_PPROF: unknown variable; did you mean ARANGOSCALE_PPROF_LISTEN?",
	} {
		err := CheckUnknown([]string{"PATH=/bin", "ARANGOSCALE_INTERVAL=15s", in})
		var ce *Error
		if !errors.As(err, &ce) || err.Error() != want {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
	if err := CheckUnknown([]string{"ARANGOSCALE_INTERVAL=15s", "ARANGOSCALE_ADMIN_OPEN=true", "OTHER_INTERVL=1"}); err != nil {
		t.Errorf("known variables refused: %v", err)
	}
	t.Setenv("ARANGOSCALE_INTERVL", "5s")
	if _, err := Load(); err == nil || !strings.HasPrefix(err.Error(), "ARANGOSCALE_INTERVL: unknown variable") {
		t.Errorf("Load with a misspelled variable: %v", err)
	}
}

func TestPprofListenOnlyLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:6060": true, "[::1]:6060": true, "localhost:6060": true, ":6060": false, "0.0.0.0:6060": false, "10.0.0.1:6060": false} {
		e := base(t)
		e["ARANGOSCALE_PPROF_LISTEN"] = addr
		_, err := FromEnv(e.lookup)
		if (err == nil) != ok {
			t.Errorf("PPROF_LISTEN=%s: %v", addr, err)
		}
	}
	e := base(t)
	e["ARANGOSCALE_ADMIN_OPEN"] = "true"
	e["ARANGOSCALE_ADMIN_TOKEN_FILE"] = writeFile(t, "tok", "x")
	if _, err := FromEnv(e.lookup); err == nil {
		t.Error("ADMIN_OPEN together with ADMIN_TOKEN_FILE accepted")
	}
}
