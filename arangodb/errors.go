package arangodb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/arangodb/go-driver/v2/arangodb/shared"
)

// Sentinel errors. Every error returned by a Client method that stems from
// an ArangoDB answer is an *APIError that matches at most one of these with
// errors.Is; transport failures and timeouts match ErrUnavailable.
var (
	// ErrPrecondition: ArangoDB refused because the cluster is not in the
	// required state yet (HTTP 412), e.g. removeServer on a server that is
	// not FAILED or still holds shards.
	ErrPrecondition = errors.New("arangodb: precondition failed")
	// ErrNotFound: the server, job, database or collection does not exist
	// (HTTP 404).
	ErrNotFound = errors.New("arangodb: not found")
	// ErrUnauthorized: the credentials were rejected (HTTP 401) or lack
	// the rights for the call (HTTP 403).
	ErrUnauthorized = errors.New("arangodb: unauthorized")
	// ErrUnavailable: the cluster could not answer: HTTP 408/502/503/504,
	// a connection failure, or the per-call Timeout expired. Retry later.
	ErrUnavailable = errors.New("arangodb: unavailable")
	// ErrBadResponse: ArangoDB answered 2xx with a body we cannot use.
	ErrBadResponse = errors.New("arangodb: bad response")
	// ErrInvalidConfig: New was given an unusable Config.
	ErrInvalidConfig = errors.New("arangodb: invalid config")
)

// APIError is an error answer from ArangoDB. It wraps the driver's
// shared.ArangoError, so errors.As works with either type.
type APIError struct {
	// Op names the call, e.g. "POST /_admin/cluster/removeServer".
	Op string
	// StatusCode is the HTTP status code.
	StatusCode int
	// ErrorNum is ArangoDB's errorNum (0 when the body had none).
	ErrorNum int
	// Message is ArangoDB's errorMessage, or the HTTP status text.
	Message string

	cause shared.ArangoError
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("arangodb: %s: HTTP %d (errorNum %d): %s", e.Op, e.StatusCode, e.ErrorNum, msg)
}

// Unwrap returns the driver's error value.
func (e *APIError) Unwrap() error { return e.cause }

// Is matches the package sentinels by HTTP status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrPrecondition:
		return e.StatusCode == http.StatusPreconditionFailed
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrUnavailable:
		switch e.StatusCode {
		case http.StatusRequestTimeout, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		// 1302 "try again" and 30 "shutting down" are transient whatever the code.
		return e.ErrorNum == shared.ErrArangoTryAgain || e.ErrorNum == shared.ErrShuttingDown
	}
	return false
}

// Temporary reports whether err is worth retrying with backoff: the cluster
// was unavailable, or ArangoDB answered 409 (conflict), 429 or any 5xx.
func Temporary(err error) bool {
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusConflict || ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
	}
	return false
}

// classify turns whatever the driver returned into one of our errors.
// parent is the caller's context: when it is done, its error is reported as
// such (not as ErrUnavailable), because the caller gave up, not ArangoDB.
func classify(parent context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var own *APIError
	if errors.As(err, &own) || errors.Is(err, ErrBadResponse) || errors.Is(err, ErrPrecondition) || errors.Is(err, ErrNotFound) {
		return err // already ours, built with its op
	}
	var ae shared.ArangoError
	if errors.As(err, &ae) && ae.Code != 0 {
		return &APIError{Op: op, StatusCode: ae.Code, ErrorNum: ae.ErrorNum, Message: ae.ErrorMessage, cause: ae}
	}
	if perr := parent.Err(); perr != nil {
		if errors.Is(err, perr) {
			return fmt.Errorf("arangodb: %s: %w", op, err)
		}
		return fmt.Errorf("arangodb: %s: %w (%w)", op, perr, err)
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		// A configuration problem (CA_FILE), not an outage: do not retry.
		return fmt.Errorf("arangodb: %s: TLS certificate not trusted: %w", op, err)
	}
	var ue *url.Error
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ue) || errors.As(err, &ne) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrBadResponse, op, err)
}

// apiError builds the error for an unexpected status code of a raw call.
func apiError(op string, code int, r *errorBody) error {
	ae := r.AsArangoErrorWithCode(code)
	return &APIError{Op: op, StatusCode: ae.Code, ErrorNum: ae.ErrorNum, Message: ae.ErrorMessage, cause: ae}
}

// errorBody is ArangoDB's error envelope.
type errorBody = shared.ResponseStruct

// badResponse reports a 2xx answer we could not use.
func badResponse(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadResponse, op, fmt.Sprintf(format, args...))
}
