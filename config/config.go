// Package config owns arangoscale's process configuration: the
// ARANGOSCALE_* environment variables (DESIGN.md "Configuration"), their
// validation at start, the secrets read from files, the TLS settings for
// every outgoing connection and the process logger.
//
// A bad setting is reported as one line naming the variable, e.g.
//
//	ARANGOSCALE_INTERVAL: invalid duration "15" (want e.g. 15s)
//
// so that a Marathon task that fails to start says why in its stderr.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix is the prefix of every environment variable, as envconfig spells it.
const Prefix = "ARANGOSCALE"

// Config is the validated configuration. The *File fields are paths; the
// secrets they name are read by LoadSecrets so that Config itself never
// holds a secret and may be printed or logged.
//
// The struct tags are envconfig's: they are the single list of variables
// and defaults, used by FromEnv and by Usage.
type Config struct {
	PolicyFile    string        `envconfig:"POLICY_FILE" default:"policies.yaml" desc:"policy YAML path or http(s):// URL"`
	MarathonURL   string        `envconfig:"MARATHON_URL" default:"http://marathon.mesos:8080" desc:"Marathon URL (or https://<dcos>/service/marathon)"`
	MesosURL      string        `envconfig:"MESOS_URL" default:"http://leader.mesos:5050" desc:"Mesos master URL"`
	Listen        string        `envconfig:"LISTEN" desc:"HTTP listen address (default :$PORT0 when PORT0 is set, else :9100)"`
	Interval      time.Duration `envconfig:"INTERVAL" default:"15s" desc:"reconcile interval"`
	DryRun        bool          `envconfig:"DRY_RUN" default:"false" desc:"decide and report, never change anything"`
	LogLevel      string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat     string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
	SourceTimeout time.Duration `envconfig:"SOURCE_TIMEOUT" default:"5s" desc:"timeout of one request to a metrics source"`
	Discovery     string        `envconfig:"DISCOVERY" default:"auto" desc:"find clusters by Marathon labels: true, false, or auto (on when the policy has templates)"`

	DCOSServiceAccountFile string `envconfig:"DCOS_SERVICE_ACCOUNT_FILE" desc:"DC/OS service account JSON (uid, private_key)"`
	DCOSTokenFile          string `envconfig:"DCOS_TOKEN_FILE" desc:"a ready DC/OS ACS token"`
	ArangoDBUsername       string `envconfig:"ARANGODB_USERNAME" desc:"ArangoDB user for basic auth"`
	ArangoDBPasswordFile   string `envconfig:"ARANGODB_PASSWORD_FILE" desc:"ArangoDB password"`
	ArangoDBJWTSecretFile  string `envconfig:"ARANGODB_JWT_SECRET_FILE" desc:"ArangoDB JWT secret (superuser tokens are signed from it)"`
	CAFile                 string `envconfig:"CA_FILE" desc:"extra PEM CA bundle; TLS is always verified"`
	PrometheusURL          string `envconfig:"PROMETHEUS_URL" desc:"Prometheus server for promql: metrics"`
	AdminTokenFile         string `envconfig:"ADMIN_TOKEN_FILE" desc:"bearer token required by mutating HTTP endpoints"`
	AdminOpen              bool   `envconfig:"ADMIN_OPEN" default:"false" desc:"without ADMIN_TOKEN_FILE, allow mutating HTTP endpoints without a token"`
	PprofListen            string `envconfig:"PPROF_LISTEN" desc:"loopback address for /debug/pprof (e.g. 127.0.0.1:6060); unset: off"`

	ZK               string        `envconfig:"ZK" desc:"ZooKeeper for several replicas: zk://host:port,host:port/chroot; unset: one instance"`
	ZKAuthFile       string        `envconfig:"ZK_AUTH_FILE" desc:"ZooKeeper digest credentials, user:password"`
	ZKSessionTimeout time.Duration `envconfig:"ZK_SESSION_TIMEOUT" default:"10s" desc:"ZooKeeper session timeout: how long a lost replica keeps its clusters"`
}

// Error is a configuration error about one variable. Its text is a single
// line starting with the variable's full name.
type Error struct {
	Var string // full name, e.g. ARANGOSCALE_INTERVAL
	Msg string // what is wrong, without the name
	Err error  // the underlying cause, if any
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// ErrInvalid is matched (errors.Is) by every *Error.
var ErrInvalid = errors.New("invalid configuration")

// Is makes errors.Is(err, ErrInvalid) true for configuration errors.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func varName(key string) string { return Prefix + "_" + key }

func bad(key, format string, args ...any) *Error {
	return &Error{Var: varName(key), Msg: oneLine(fmt.Sprintf(format, args...))}
}

// oneLine keeps an error on one line whatever a value or an OS error holds.
func oneLine(s string) string { return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s) }

// Load reads the configuration from the process environment. An
// ARANGOSCALE_* variable that is not one of ours stops it: a misspelled
// setting silently left at its default is worse than no start.
func Load() (*Config, error) {
	if err := CheckUnknown(os.Environ()); err != nil {
		return nil, err
	}
	return FromEnv(os.LookupEnv)
}

// CheckUnknown returns an *Error for the first ARANGOSCALE_* entry of
// environ ("NAME=value" strings) that names no variable, with the closest
// known name.
func CheckUnknown(environ []string) error {
	known := Names()
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, Prefix+"_") {
			continue
		}
		if slices.Contains(known, name) {
			continue
		}
		return &Error{Var: name, Msg: "unknown variable; did you mean " + closest(name, known) + "?"}
	}
	return nil
}

// closest is the known name a person most likely meant: one the name is
// the start of (ADMIN_TOKEN → ADMIN_TOKEN_FILE), else the least edits away.
func closest(name string, known []string) string {
	best, dist := "", -1
	for _, k := range known {
		d := editDistance(name, k)
		if strings.HasPrefix(k, name) {
			d = 0
		}
		if dist < 0 || d < dist {
			best, dist = k, d
		}
	}
	return best
}

// Names are the full names of every variable, in declaration order.
func Names() []string {
	t := reflect.TypeFor[Config]()
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		out = append(out, varName(t.Field(i).Tag.Get("envconfig")))
	}
	return out
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// FromEnv reads and validates the configuration through lookup (os.LookupEnv
// in production, a map in tests). Variables and defaults are the envconfig
// tags of Config; values are decoded the way envconfig decodes them
// (strconv.ParseBool, time.ParseDuration). PORT0 (set by Marathon) gives
// the default listen port. The first invalid variable is returned as *Error.
func FromEnv(lookup func(string) (string, bool)) (*Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	c := &Config{}
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("envconfig")
		raw, ok := lookup(varName(key))
		if !ok || raw == "" {
			raw = f.Tag.Get("default")
		}
		fv := v.Field(i)
		switch f.Type {
		case reflect.TypeFor[string]():
			fv.SetString(strings.TrimSpace(raw))
		case reflect.TypeFor[bool]():
			b, err := strconv.ParseBool(strings.TrimSpace(raw))
			if err != nil {
				return nil, bad(key, "invalid boolean %q (want true or false)", raw)
			}
			fv.SetBool(b)
		case reflect.TypeFor[time.Duration]():
			d, err := time.ParseDuration(strings.TrimSpace(raw))
			if err != nil {
				return nil, bad(key, "invalid duration %q (want e.g. 15s)", raw)
			}
			fv.SetInt(int64(d))
		default:
			// A programming error in this file, caught by the tests.
			return nil, fmt.Errorf("config: field %s has unsupported type %s", f.Name, f.Type)
		}
	}
	if c.Listen == "" {
		c.Listen = ":9100"
		if p, ok := lookup("PORT0"); ok && strings.TrimSpace(p) != "" {
			c.Listen = ":" + strings.TrimSpace(p)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Usage writes the table of variables, defaults and meanings to w.
func Usage(w io.Writer) error {
	return envconfig.Usagef(Prefix, &Config{}, w, envconfig.DefaultTableFormat)
}

func (c *Config) validate() error {
	if IsURL(c.PolicyFile) {
		if err := checkURL("POLICY_FILE", c.PolicyFile); err != nil {
			return err
		}
	} else if err := checkFile("POLICY_FILE", c.PolicyFile); err != nil {
		return err
	}
	if err := checkURL("MARATHON_URL", c.MarathonURL); err != nil {
		return err
	}
	if err := checkURL("MESOS_URL", c.MesosURL); err != nil {
		return err
	}
	if err := checkListen(c.Listen); err != nil {
		return err
	}
	if c.Interval <= 0 {
		return bad("INTERVAL", "must be positive, got %s", c.Interval)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return bad("LOG_LEVEL", "unknown level %q (want debug, info, warn or error)", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return bad("LOG_FORMAT", "unknown format %q (want json or text)", c.LogFormat)
	}
	switch c.Discovery {
	case "auto", "true", "false":
	default:
		return bad("DISCOVERY", "unknown value %q (want true, false or auto)", c.Discovery)
	}
	if c.SourceTimeout <= 0 {
		return bad("SOURCE_TIMEOUT", "must be positive, got %s", c.SourceTimeout)
	}
	for _, f := range []struct{ key, path string }{
		{"DCOS_SERVICE_ACCOUNT_FILE", c.DCOSServiceAccountFile},
		{"DCOS_TOKEN_FILE", c.DCOSTokenFile},
		{"ARANGODB_PASSWORD_FILE", c.ArangoDBPasswordFile},
		{"ARANGODB_JWT_SECRET_FILE", c.ArangoDBJWTSecretFile},
		{"CA_FILE", c.CAFile},
		{"ADMIN_TOKEN_FILE", c.AdminTokenFile},
	} {
		if f.path == "" {
			continue
		}
		if err := checkFile(f.key, f.path); err != nil {
			return err
		}
	}
	if c.DCOSServiceAccountFile != "" && c.DCOSTokenFile != "" {
		return bad("DCOS_TOKEN_FILE", "set only one of %s and %s", varName("DCOS_SERVICE_ACCOUNT_FILE"), varName("DCOS_TOKEN_FILE"))
	}
	if c.ArangoDBPasswordFile != "" && c.ArangoDBJWTSecretFile != "" {
		return bad("ARANGODB_JWT_SECRET_FILE", "set only one of %s and %s", varName("ARANGODB_PASSWORD_FILE"), varName("ARANGODB_JWT_SECRET_FILE"))
	}
	if c.ArangoDBPasswordFile != "" && c.ArangoDBUsername == "" {
		return bad("ARANGODB_USERNAME", "required when %s is set", varName("ARANGODB_PASSWORD_FILE"))
	}
	if c.CAFile != "" {
		if _, err := c.certPool(); err != nil {
			return err
		}
	}
	if c.PrometheusURL != "" {
		if err := checkURL("PROMETHEUS_URL", c.PrometheusURL); err != nil {
			return err
		}
	}
	if c.AdminOpen && c.AdminTokenFile != "" {
		return bad("ADMIN_OPEN", "set only one of %s and %s", varName("ADMIN_TOKEN_FILE"), varName("ADMIN_OPEN"))
	}
	if c.PprofListen != "" {
		if err := checkLoopback("PPROF_LISTEN", c.PprofListen); err != nil {
			return err
		}
	}
	return c.validateZK()
}

// checkLoopback accepts only a loopback host:port: profiles show memory
// contents and cost CPU, so they never face the network.
func checkLoopback(key, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return bad(key, "invalid address %q (want 127.0.0.1:port)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return bad(key, "invalid port in %q", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return bad(key, "%q is not a loopback address (want 127.0.0.1:port or [::1]:port)", addr)
	}
	return nil
}

// IsURL reports whether a policy source is an http(s) URL rather than a path.
func IsURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

func checkURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad(key, "invalid URL %q (want http://host[:port][/path] or https://…)", redactURL(raw))
	}
	return nil
}

// redactURL hides a password in a URL before it is printed.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return bad("LISTEN", "invalid address %q (want host:port or :port)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return bad("LISTEN", "invalid port in %q (from %s or PORT0)", addr, varName("LISTEN"))
	}
	return nil
}

func checkFile(key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return &Error{Var: varName(key), Msg: oneLine(fmt.Sprintf("cannot read %q: %v", path, unwrapPath(err))), Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return &Error{Var: varName(key), Msg: oneLine(fmt.Sprintf("cannot read %q: %v", path, unwrapPath(err))), Err: err}
	}
	if st.IsDir() {
		return bad(key, "%q is a directory, want a file", path)
	}
	return nil
}

// unwrapPath drops the *PathError wrapper whose text repeats the path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q", s)
}

// Level is the configured slog level (info if, unexpectedly, invalid).
func (c *Config) Level() slog.Level {
	l, err := parseLevel(c.LogLevel)
	if err != nil {
		return slog.LevelInfo
	}
	return l
}

// DiscoveryOn reports whether clusters are discovered by Marathon labels
// for a policy: DISCOVERY=true or false, or with auto when it has templates.
func (c *Config) DiscoveryOn(hasTemplates bool) bool {
	switch c.Discovery {
	case "true":
		return true
	case "false":
		return false
	}
	return hasTemplates
}

// Logger returns the process logger writing to w, in the configured format
// and at the configured level.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level()}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func (c *Config) certPool() (*x509.CertPool, error) {
	if c.CAFile == "" {
		// nil: crypto/tls verifies against the system roots, read on the
		// first handshake; a copy here held ~1 MiB even without https.
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		// No system roots (e.g. scratch image without certs): CA_FILE alone.
		pool = x509.NewCertPool()
	}
	data, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, &Error{Var: varName("CA_FILE"), Msg: oneLine(fmt.Sprintf("cannot read %q: %v", c.CAFile, unwrapPath(err))), Err: err}
	}
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, &Error{Var: varName("CA_FILE"), Msg: oneLine(fmt.Sprintf("%q: certificate %d does not parse: %v", c.CAFile, n+1, err)), Err: err}
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, bad("CA_FILE", "%q holds no PEM certificate", c.CAFile)
	}
	return pool, nil
}

// TLSConfig returns the client TLS settings: the system roots plus CA_FILE
// (RootCAs nil without CA_FILE: the system roots alone), TLS 1.2 or newer,
// certificate verification always on.
func (c *Config) TLSConfig() (*tls.Config, error) {
	pool, err := c.certPool()
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
