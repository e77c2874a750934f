package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/arangoscale/arangoscale/clock"
)

// TestScrapeJWTExpiresAndIsRenewed: the superuser JWT of the metric
// scrapes carries exp = now + 1h of the injected clock and is replaced
// before it runs out.
func TestScrapeJWTExpiresAndIsRenewed(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	auth, err := arangoAuthHeader("", "", "s3cret", clk)
	if err != nil {
		t.Fatal(err)
	}
	expOf := func() time.Time {
		t.Helper()
		h, err := auth()
		if err != nil {
			t.Fatal(err)
		}
		claims := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(strings.TrimPrefix(h, "bearer "), claims, func(*jwt.Token) (any, error) { return []byte("s3cret"), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(clk.Now), jwt.WithExpirationRequired()); err != nil {
			t.Fatalf("scrape JWT: %v", err)
		}
		exp, _ := claims.GetExpirationTime()
		return exp.Time
	}
	if got, want := expOf(), clk.Now().Add(time.Hour); !got.Equal(want) {
		t.Fatalf("exp %v, want %v", got, want)
	}
	clk.Advance(55 * time.Minute)
	if got, want := expOf(), clk.Now().Add(time.Hour); !got.Equal(want) {
		t.Fatalf("not renewed before expiry: exp %v, want %v", got, want)
	}
}
