package controller_test

import (
	"net/http"
	"testing"
	"time"
)

// TestHoldsReadOncePerReconcile: a reconcile reads the manual holds of
// both roles in one request (PUT …?onlyget=true), not one GET per role.
func TestHoldsReadOncePerReconcile(t *testing.T) {
	h := newHarness(t, harnessOpts{arangoProxy: true})
	h.setRPS(300)
	h.run(time.Minute)
	const many = "/_db/_system/_api/document/arangoscale_holds"
	before := h.arango.count(http.MethodPut, many)
	h.run(time.Minute)
	if n := h.arango.count(http.MethodPut, many) - before; n != 4 {
		t.Fatalf("%d hold reads in 4 intervals, want 4", n)
	}
	if n := h.arango.count(http.MethodGet, many); n != 0 {
		t.Fatalf("%d single-document hold reads, want none", n)
	}
}
