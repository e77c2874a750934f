package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// redacted replaces a secret wherever a Secrets value would be printed.
const redacted = "[REDACTED]"

// Secrets holds what the *File variables point at. Every way of printing it
// (fmt verbs, slog, JSON) shows only which secrets are set, never a value.
type Secrets struct {
	DCOSServiceAccount []byte // the service account JSON, as read
	DCOSToken          string
	ArangoDBPassword   string
	ArangoDBJWTSecret  string
	AdminToken         string
	ZKAuth             string // user:password for ZooKeeper's digest scheme
}

// ServiceAccount is the part of a DC/OS service account file arangoscale
// uses to log in (POST /acs/api/v1/auth/login with a token signed by the key).
type ServiceAccount struct {
	UID           string `json:"uid"`
	PrivateKey    string `json:"private_key"`
	LoginEndpoint string `json:"login_endpoint,omitempty"`
}

// LoadSecrets reads the secret files named by the configuration. Token and
// password files lose their trailing newline (what `echo` and most secret
// stores add); the service account must be JSON with uid and private_key.
func (c *Config) LoadSecrets() (Secrets, error) {
	var s Secrets
	var err error
	if s.DCOSToken, err = readSecret("DCOS_TOKEN_FILE", c.DCOSTokenFile); err != nil {
		return Secrets{}, err
	}
	if s.ArangoDBPassword, err = readSecret("ARANGODB_PASSWORD_FILE", c.ArangoDBPasswordFile); err != nil {
		return Secrets{}, err
	}
	if s.ArangoDBJWTSecret, err = readSecret("ARANGODB_JWT_SECRET_FILE", c.ArangoDBJWTSecretFile); err != nil {
		return Secrets{}, err
	}
	if s.AdminToken, err = readSecret("ADMIN_TOKEN_FILE", c.AdminTokenFile); err != nil {
		return Secrets{}, err
	}
	if s.ZKAuth, err = readSecret("ZK_AUTH_FILE", c.ZKAuthFile); err != nil {
		return Secrets{}, err
	}
	if user, _, ok := strings.Cut(s.ZKAuth, ":"); s.ZKAuth != "" && (!ok || user == "") {
		return Secrets{}, bad("ZK_AUTH_FILE", "%q: want user:password", c.ZKAuthFile)
	}
	if c.DCOSServiceAccountFile != "" {
		sa, err := os.ReadFile(c.DCOSServiceAccountFile)
		if err != nil {
			return Secrets{}, &Error{Var: varName("DCOS_SERVICE_ACCOUNT_FILE"), Msg: oneLine(fmt.Sprintf("cannot read %q: %v", c.DCOSServiceAccountFile, unwrapPath(err))), Err: err}
		}
		if _, err := ParseServiceAccount(sa); err != nil {
			return Secrets{}, &Error{Var: varName("DCOS_SERVICE_ACCOUNT_FILE"), Msg: oneLine(fmt.Sprintf("%q: %v", c.DCOSServiceAccountFile, err)), Err: err}
		}
		s.DCOSServiceAccount = sa
	}
	return s, nil
}

// ParseServiceAccount decodes a DC/OS service account JSON. Its errors
// never quote the content (it holds a private key).
func ParseServiceAccount(data []byte) (ServiceAccount, error) {
	var sa ServiceAccount
	if err := json.Unmarshal(data, &sa); err != nil {
		// json's syntax errors quote at most one character; type errors
		// name fields. Neither reveals the key, but keep only the offset.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return ServiceAccount{}, fmt.Errorf("not a JSON object (syntax error at byte %d)", se.Offset)
		}
		return ServiceAccount{}, errors.New("not a service account JSON object")
	}
	if sa.UID == "" {
		return ServiceAccount{}, fmt.Errorf(`missing "uid"`)
	}
	if !strings.Contains(sa.PrivateKey, "PRIVATE KEY") {
		return ServiceAccount{}, fmt.Errorf(`missing or malformed "private_key" (want a PEM private key)`)
	}
	return sa, nil
}

func readSecret(key, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &Error{Var: varName(key), Msg: oneLine(fmt.Sprintf("cannot read %q: %v", path, unwrapPath(err))), Err: err}
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", bad(key, "%q is empty", path)
	}
	return v, nil
}

// summary lists which secrets are present, never their values.
func (s Secrets) summary() string {
	set := func(ok bool) string {
		if ok {
			return redacted
		}
		return `""`
	}
	return fmt.Sprintf("config.Secrets{DCOSServiceAccount:%s DCOSToken:%s ArangoDBPassword:%s ArangoDBJWTSecret:%s AdminToken:%s ZKAuth:%s}",
		set(len(s.DCOSServiceAccount) > 0), set(s.DCOSToken != ""), set(s.ArangoDBPassword != ""),
		set(s.ArangoDBJWTSecret != ""), set(s.AdminToken != ""), set(s.ZKAuth != ""))
}

// String redacts every value.
func (s Secrets) String() string { return s.summary() }

// GoString redacts every value (%#v).
func (s Secrets) GoString() string { return s.summary() }

// Format redacts for every fmt verb, including %d and %x which would
// otherwise print the fields' bytes.
func (s Secrets) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.summary())) }

// LogValue redacts in slog output.
func (s Secrets) LogValue() slog.Value {
	attr := func(k string, ok bool) slog.Attr { return slog.Bool(k+"_set", ok) }
	return slog.GroupValue(
		attr("dcos_service_account", len(s.DCOSServiceAccount) > 0),
		attr("dcos_token", s.DCOSToken != ""),
		attr("arangodb_password", s.ArangoDBPassword != ""),
		attr("arangodb_jwt_secret", s.ArangoDBJWTSecret != ""),
		attr("admin_token", s.AdminToken != ""),
		attr("zk_auth", s.ZKAuth != ""),
	)
}

// MarshalJSON redacts, so a Secrets embedded in a status document by
// mistake cannot leak.
func (s Secrets) MarshalJSON() ([]byte, error) { return json.Marshal(s.summary()) }
