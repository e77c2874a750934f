package arangodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	driver "github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"
)

// HoldsCollection is the collection in _system that keeps manual holds,
// one document per role, keyed by the role name.
const HoldsCollection = "arangoscale_holds"

// ErrHoldChanged: the hold document was changed by someone else since it
// was read (ArangoDB answered 412 to If-Match, or 409 to a create).
var ErrHoldChanged = errors.New("arangodb: hold changed meanwhile")

// Hold is a person's manual count for one role of a cluster.
type Hold struct {
	Cluster string    `json:"cluster"`
	Role    string    `json:"role"`
	Count   int       `json:"count"`
	Until   time.Time `json:"until"`
	SetAt   time.Time `json:"set_at"`
	// By and Why say who asked and why, for /status and the log.
	By  string `json:"by,omitempty"`
	Why string `json:"why,omitempty"`
	// Source is "cli" (arangoscale scale) or "web_ui" (numberOfServers
	// changed in ArangoDB's web UI).
	Source string `json:"source"`
	// Rev is the document's _rev when read; a write with it set only
	// succeeds if nobody changed the document since.
	Rev string `json:"-"`
}

func (c *Client) holds(ctx context.Context) (driver.Collection, error) {
	db, err := c.drv.GetDatabase(ctx, "_system", &driver.GetDatabaseOptions{SkipExistCheck: true})
	if err != nil {
		return nil, err
	}
	return db.GetCollection(ctx, HoldsCollection, &driver.GetCollectionOptions{SkipExistCheck: true})
}

// complete says whether a stored hold has what a pin needs: a count of at
// least 1 and an end. Hold and Holds refuse one that has not.
func (h Hold) complete() bool { return h.Count >= 1 && !h.Until.IsZero() }

// Hold reads the hold of one role; ok is false when there is none.
func (c *Client) Hold(ctx context.Context, role string) (h Hold, ok bool, err error) {
	op := "GET /_api/document/" + HoldsCollection + "/" + role
	err = c.do(ctx, op, func(ctx context.Context) error {
		col, err := c.holds(ctx)
		if err != nil {
			return err
		}
		meta, err := col.ReadDocument(ctx, role, &h)
		h.Rev = meta.Rev
		return err
	})
	if errors.Is(err, ErrNotFound) { // no document, or no collection yet
		return Hold{}, false, nil
	}
	if err != nil {
		return Hold{}, false, err
	}
	if h.Role != role || !h.complete() {
		return Hold{}, false, badResponse(op, "hold document with role %q count %d until %v", h.Role, h.Count, h.Until)
	}
	return h, true, nil
}

// Holds reads the holds of several roles in one request (PUT
// /_api/document/{collection}?onlyget=true, go-driver's ReadDocuments):
// a reconcile reads those of all its roles each interval. A role without a
// hold is missing from the map; so is every role while the collection
// does not exist yet.
func (c *Client) Holds(ctx context.Context, roles ...string) (map[string]Hold, error) {
	out := make(map[string]Hold, len(roles))
	if len(roles) == 0 {
		return out, nil
	}
	op := "PUT /_api/document/" + HoldsCollection + "?onlyget=true"
	var got []Hold
	err := c.do(ctx, op, func(ctx context.Context) error {
		got = got[:0]
		col, err := c.holds(ctx)
		if err != nil {
			return err
		}
		r, err := col.ReadDocuments(ctx, roles)
		if err != nil {
			return err
		}
		for range roles {
			var h Hold
			meta, err := r.Read(&h)
			if shared.IsNoMoreDocuments(err) {
				break
			}
			if shared.IsArangoErrorWithErrorNum(err, shared.ErrArangoDocumentNotFound) {
				continue // this role has no hold
			}
			if err != nil {
				return err
			}
			h.Rev = meta.Rev
			got = append(got, h)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) { // no collection yet
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, h := range got {
		if !slices.Contains(roles, h.Role) || !h.complete() {
			return nil, badResponse(op, "hold document with role %q count %d until %v", h.Role, h.Count, h.Until)
		}
		if _, dup := out[h.Role]; dup {
			return nil, badResponse(op, "two hold documents for role %q", h.Role)
		}
		out[h.Role] = h
	}
	return out, nil
}

// PutHold writes h under its role: a new document when h.Rev is empty
// (failing with ErrHoldChanged if one exists), else a replace with
// If-Match h.Rev. The collection is created on first use. It returns h
// with its new Rev.
func (c *Client) PutHold(ctx context.Context, h Hold) (Hold, error) {
	if h.Role == "" || h.Count < 1 {
		return h, fmt.Errorf("arangodb: PutHold: role %q count %d", h.Role, h.Count)
	}
	doc := struct {
		Key string `json:"_key"`
		Hold
	}{h.Role, h}
	op := "POST /_api/document/" + HoldsCollection
	if h.Rev != "" {
		op = "PUT /_api/document/" + HoldsCollection + "/" + h.Role
	}
	write := func(ctx context.Context) error {
		col, err := c.holds(ctx)
		if err != nil {
			return err
		}
		if h.Rev == "" {
			meta, err := col.CreateDocument(ctx, doc)
			h.Rev = meta.Rev
			return err
		}
		meta, err := col.ReplaceDocumentWithOptions(ctx, h.Role, doc, &driver.CollectionDocumentReplaceOptions{IfMatch: h.Rev})
		h.Rev = meta.Rev
		return err
	}
	err := c.do(ctx, op, write)
	var ae *APIError
	if errors.As(err, &ae) && ae.ErrorNum == shared.ErrArangoDataSourceNotFound && h.Rev == "" {
		if err := c.createHolds(ctx); err != nil {
			return h, err
		}
		err = c.do(ctx, op, write)
	}
	if errors.As(err, &ae) && (ae.StatusCode == 412 || ae.StatusCode == 409) {
		return h, fmt.Errorf("%w: %w", ErrHoldChanged, err)
	}
	return h, err
}

// DeleteHold removes the hold of one role. With rev set it only removes
// that revision (ErrHoldChanged otherwise); a hold already gone is no error.
func (c *Client) DeleteHold(ctx context.Context, role, rev string) error {
	op := "DELETE /_api/document/" + HoldsCollection + "/" + role
	err := c.do(ctx, op, func(ctx context.Context) error {
		col, err := c.holds(ctx)
		if err != nil {
			return err
		}
		_, err = col.DeleteDocumentWithOptions(ctx, role, &driver.CollectionDocumentDeleteOptions{IfMatch: rev})
		return err
	})
	var ae *APIError
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case errors.As(err, &ae) && ae.StatusCode == 412:
		return fmt.Errorf("%w: %w", ErrHoldChanged, err)
	}
	return err
}

func (c *Client) createHolds(ctx context.Context) error {
	err := c.do(ctx, "POST /_api/collection", func(ctx context.Context) error {
		db, err := c.drv.GetDatabase(ctx, "_system", &driver.GetDatabaseOptions{SkipExistCheck: true})
		if err != nil {
			return err
		}
		_, err = db.CreateCollectionV2(ctx, HoldsCollection, &driver.CreateCollectionPropertiesV2{})
		return err
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.ErrorNum == shared.ErrArangoDuplicateName {
		return nil // another process created it first
	}
	return err
}
