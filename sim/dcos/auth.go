package dcos

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// DC/OS authentication as admin router and the IAM service (bouncer) do
// it (DC/OS docs, security/oss/authentication/authentication-token and
// managing-authentication/iam-api): requests carry
// "Authorization: token=<ACS token>"; a service account gets its token from
// POST /acs/api/v1/auth/login with {"uid", "token"}, the token being an
// RS256 JWT whose payload holds "uid" and "exp", signed by the account's
// private key. Errors use bouncer's {"title","description","code"} shape;
// the 401 also carries admin router's "WWW-Authenticate: acsjwt".

const loginPath = "/acs/api/v1/auth/login"

type iamError struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Code        string `json:"code"`
}

// requireToken enforces Params.Token on everything but /ping and the login.
func (c *Cluster) requireToken(next http.Handler) http.Handler {
	if c.p.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/service"), "/marathon")
		if p == "/ping" || p == loginPath {
			next.ServeHTTP(w, r)
			return
		}
		got := r.Header.Get("Authorization")
		if got == "token="+c.p.Token {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", "acsjwt")
		desc := "The request requires a DC/OS authentication token in the Authorization header."
		if got != "" {
			desc = "The DC/OS authentication token in the Authorization header is invalid or expired."
		}
		writeJSON(w, http.StatusUnauthorized, iamError{Title: "Unauthorized", Description: desc, Code: "ERR_INVALID_TOKEN"})
	})
}

// errLogin is why a login token was refused.
var errLogin = errors.New("login refused")

func (c *Cluster) serveLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UID   string `json:"uid"`
		Token string `json:"token"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, iamError{Title: "Bad Request",
			Description: fmt.Sprintf("Request has bad Content-Type or lacks JSON data: %v", err), Code: "ERR_MALFORMED_REQUEST"})
		return
	}
	if err := c.verifyLogin(req.UID, req.Token); err != nil {
		writeJSON(w, http.StatusUnauthorized, iamError{Title: "Invalid authentication credentials",
			Description: err.Error(), Code: "ERR_INVALID_CREDENTIALS"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": c.p.Token})
}

func (c *Cluster) verifyLogin(uid, token string) error {
	key, ok := c.p.ServiceAccounts[uid]
	if !ok || key == nil || c.p.Token == "" {
		return fmt.Errorf("%w: unknown service account %q", errLogin, uid)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(c.clk.Now))
	if err != nil {
		return fmt.Errorf("%w: login token: %w", errLogin, err)
	}
	if claims["uid"] != uid {
		return fmt.Errorf("%w: login token uid claim does not match %q", errLogin, uid)
	}
	return nil
}
