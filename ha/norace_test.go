//go:build !race

package ha_test

import "testing"

// reconnectRace: see race_test.go.
func reconnectRace(*testing.T) {}
