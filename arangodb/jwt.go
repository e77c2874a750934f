package arangodb

import (
	"errors"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/arangodb/go-driver/v2/connection"
	"github.com/arangoscale/arangoscale/clock"
)

const (
	// JWTLifetime is how long a superuser JWT we sign is valid: a leaked
	// one is useless after an hour, not forever.
	JWTLifetime = time.Hour
	// jwtRenewBefore: a JWT this close to its exp is replaced before use,
	// so clock skew between us and the coordinators cannot expire it in
	// flight.
	jwtRenewBefore = 10 * time.Minute
)

// SuperuserJWT signs the superuser JWTs of one cluster from its JWT secret
// and renews them before they expire. Claims as ArangoDB documents them for
// superuser tokens (HTTP API, "Authentication", JWT superuser tokens):
// iss "arangodb", server_id, iat and exp. Safe for concurrent use.
type SuperuserJWT struct {
	secret   []byte
	serverID string
	clk      clock.Clock

	mu     sync.Mutex
	header string
	exp    time.Time
}

// NewSuperuserJWT returns a signer; clk nil means the real clock.
func NewSuperuserJWT(secret, serverID string, clk clock.Clock) (*SuperuserJWT, error) {
	if secret == "" || serverID == "" {
		return nil, errors.New("arangodb: JWT needs a secret and a server id")
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &SuperuserJWT{secret: []byte(secret), serverID: serverID, clk: clk}, nil
}

// Header returns "bearer <jwt>" valid for at least jwtRenewBefore.
func (s *SuperuserJWT) Header() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	if s.header != "" && now.Before(s.exp.Add(-jwtRenewBefore)) {
		return s.header, nil
	}
	exp := now.Add(JWTLifetime)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":       "arangodb",
		"server_id": s.serverID,
		"iat":       now.Unix(),
		"exp":       exp.Unix(),
	}).SignedString(s.secret)
	if err != nil {
		// The signing error never contains the secret; still, say little.
		return "", errors.New("arangodb: cannot sign the superuser JWT")
	}
	s.header, s.exp = "bearer "+tok, exp
	return s.header, nil
}

// RequestModifier makes SuperuserJWT a go-driver connection.Authentication:
// every request gets a current token.
func (s *SuperuserJWT) RequestModifier(r connection.Request) error {
	h, err := s.Header()
	if err != nil {
		return err
	}
	r.AddHeader("Authorization", h)
	return nil
}
