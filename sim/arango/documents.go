package arango

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// The document API, for the few documents a client keeps in the cluster
// (arangoscale's manual holds). Plain document collections created here
// hold no shards in the model: they never take part in placement,
// clean-outs or losses, and GET /_api/collection does not list them.
//
// Paths, codes and bodies follow ArangoDB's HTTP API documentation,
// arangodb/docs-hugo site/content/3.12/develop/http-api/documents.md
// (create 201/202 with _id/_key/_rev, replace 201/202 with _oldRev, remove
// 200/202, 404 for a missing collection or document, 409 for an existing
// key, 412 with the current _id/_key/_rev when If-Match does not match) and
// .../collections.md (create answers 200 with the collection's properties).
// Error numbers are arangod's lib/Basics/errors.dat.
const (
	errNumConflict        = 1200 // ERROR_ARANGO_CONFLICT: "conflict"
	errNumDocNotFound     = 1202 // ERROR_ARANGO_DOCUMENT_NOT_FOUND
	errNumDuplicateName   = 1207 // ERROR_ARANGO_DUPLICATE_NAME
	errNumUniqueViolated  = 1210 // ERROR_ARANGO_UNIQUE_CONSTRAINT_VIOLATED
	errNumDocKeyMissing   = 1205 // ERROR_ARANGO_DOCUMENT_HANDLE_BAD
	errNumDocTypeInvalid  = 1227 // ERROR_ARANGO_DOCUMENT_TYPE_INVALID
	docCollectionTypeDocs = 2    // "type": 2 is a document collection
)

// docStore keeps the documents of the collections created through the API.
type docStore struct {
	mu    sync.Mutex
	seq   uint64
	colls map[string]map[string]map[string]any // "db/collection" → key → document
}

func (s *docStore) rev() string {
	s.seq++
	// Revisions are opaque strings to clients; arangod's look like "_hV1zG3a---".
	return fmt.Sprintf("_d%09x-", s.seq)
}

// routeDocuments serves POST /_api/collection and /_api/document/...; it
// reports false for every other request.
func (c *Cluster) routeDocuments(w http.ResponseWriter, r *http.Request, db, path string) bool {
	switch {
	case path == "/_api/collection" && r.Method == http.MethodPost:
		c.docs.createCollection(w, r, db)
	case strings.HasPrefix(path, "/_api/document/"):
		c.docs.handle(w, r, db, strings.TrimPrefix(path, "/_api/document/"))
	default:
		return false
	}
	return true
}

func (s *docStore) createCollection(w http.ResponseWriter, r *http.Request, db string) {
	var body struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.Name == "" {
		writeErr(w, http.StatusBadRequest, errNumBadParameter, "name must be non-empty")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.colls == nil {
		s.colls = map[string]map[string]map[string]any{}
	}
	id := db + "/" + body.Name
	if _, ok := s.colls[id]; ok {
		writeErr(w, http.StatusConflict, errNumDuplicateName, "duplicate name")
		return
	}
	s.colls[id] = map[string]map[string]any{}
	s.seq++
	writeJSON(w, http.StatusOK, map[string]any{
		"error": false, "code": 200, "id": fmt.Sprint(s.seq), "name": body.Name,
		"type": docCollectionTypeDocs, "status": 3, "isSystem": false, "waitForSync": false,
		"globallyUniqueId": fmt.Sprintf("c%d/", s.seq),
	})
}

func (s *docStore) handle(w http.ResponseWriter, r *http.Request, db, rest string) {
	name, key, _ := strings.Cut(rest, "/")
	if n, err := url.PathUnescape(name); err == nil {
		name = n
	}
	if k, err := url.PathUnescape(key); err == nil {
		key = k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	docs, ok := s.colls[db+"/"+name]
	if !ok {
		writeErr(w, http.StatusNotFound, errNumCollNotFound, "collection or view not found")
		return
	}
	meta := func(doc map[string]any) map[string]any {
		return map[string]any{"_id": doc["_id"], "_key": doc["_key"], "_rev": doc["_rev"]}
	}
	if key == "" && r.Method == http.MethodPut && r.URL.Query().Get("onlyget") == "true" {
		s.readMany(w, r, docs)
		return
	}
	if key == "" {
		if r.Method != http.MethodPost {
			methodNotAllowed(w)
			return
		}
		doc, ok := readDoc(w, r)
		if !ok {
			return
		}
		k, _ := doc["_key"].(string)
		if k == "" {
			// Only client-chosen keys are needed here.
			writeErr(w, http.StatusBadRequest, errNumDocKeyMissing, "illegal document key")
			return
		}
		if _, exists := docs[k]; exists {
			writeErr(w, http.StatusConflict, errNumUniqueViolated,
				"unique constraint violated - in index primary of type primary over '_key'; conflicting key: "+k)
			return
		}
		doc["_id"], doc["_rev"] = name+"/"+k, s.rev()
		docs[k] = doc
		w.Header().Set("Etag", `"`+doc["_rev"].(string)+`"`)
		writeJSON(w, http.StatusAccepted, meta(doc))
		return
	}
	cur, exists := docs[key]
	if !exists {
		writeErr(w, http.StatusNotFound, errNumDocNotFound, "document not found")
		return
	}
	if m := strings.Trim(r.Header.Get("If-Match"), `"`); m != "" && m != cur["_rev"] {
		body := meta(cur)
		body["error"], body["code"], body["errorNum"], body["errorMessage"] = true, 412, errNumConflict, "conflict, _rev values do not match"
		writeJSON(w, http.StatusPreconditionFailed, body)
		return
	}
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Etag", `"`+cur["_rev"].(string)+`"`)
		writeJSON(w, http.StatusOK, cur)
	case http.MethodPut:
		doc, ok := readDoc(w, r)
		if !ok {
			return
		}
		old := cur["_rev"]
		doc["_key"], doc["_id"], doc["_rev"] = key, name+"/"+key, s.rev()
		docs[key] = doc
		body := meta(doc)
		body["_oldRev"] = old
		w.Header().Set("Etag", `"`+doc["_rev"].(string)+`"`)
		writeJSON(w, http.StatusAccepted, body)
	case http.MethodDelete:
		delete(docs, key)
		writeJSON(w, http.StatusAccepted, meta(cur))
	default:
		methodNotAllowed(w)
	}
}

// readMany serves "Get multiple documents", PUT
// /_api/document/{collection}?onlyget=true (docs-hugo 3.12
// develop/http-api/documents.md, operationId getDocuments): the body is an
// array of keys or of objects with a _key; the answer, 200, is an array of
// the same length with each document, or in place of a missing one the
// error object of arangod's Transaction/Methods.cpp createBabiesError
// ({"error": true, "errorNum", "errorMessage"}). A body that is no such
// array is a 400.
func (s *docStore) readMany(w http.ResponseWriter, r *http.Request, docs map[string]map[string]any) {
	var keys []json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&keys); err != nil {
		writeErr(w, http.StatusBadRequest, errNumDocTypeInvalid, "invalid document type")
		return
	}
	out := make([]any, 0, len(keys))
	for _, raw := range keys {
		var key string
		if err := json.Unmarshal(raw, &key); err != nil {
			var doc struct {
				Key string `json:"_key"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil || doc.Key == "" {
				out = append(out, map[string]any{"error": true, "errorNum": errNumDocKeyMissing, "errorMessage": "illegal document key"})
				continue
			}
			key = doc.Key
		}
		if doc, ok := docs[key]; ok {
			out = append(out, doc)
		} else {
			out = append(out, map[string]any{"error": true, "errorNum": errNumDocNotFound, "errorMessage": "document not found"})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func readDoc(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var doc map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&doc); err != nil {
		writeErr(w, http.StatusBadRequest, errNumDocTypeInvalid, "invalid document type")
		return nil, false
	}
	return doc, true
}
