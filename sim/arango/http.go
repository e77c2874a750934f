package arango

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ArangoDB error numbers used in error bodies (lib/Basics/errors.dat).
const (
	errNumBadParameter     = 10
	errNumForbidden        = 11 // what arangod sends with its 401
	errNumHTTPBadParameter = 400
	errNumHTTPNotFound     = 404
	errNumHTTPMethod       = 405
	errNumHTTPPrecondition = 412
	errNumHTTPUnavailable  = 503
	errNumCorruptedJSON    = 600
	errNumCollNotFound     = 1203
	errNumDBNotFound       = 1228
)

// maxBody bounds request bodies; the admin API never needs more.
const maxBody = 1 << 20

// Handler returns the coordinator's HTTP API. Paths may carry a
// /_db/<name> prefix as the drivers send them.
func (c *Cluster) Handler() http.Handler {
	return http.HandlerFunc(c.serveHTTP)
}

type errorBody struct {
	Code         int    `json:"code"`
	Error        bool   `json:"error"`
	ErrorMessage string `json:"errorMessage"`
	ErrorNum     int    `json:"errorNum"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"code":500,"error":true,"errorMessage":"internal error","errorNum":4}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Server", "ArangoDB")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeErr(w http.ResponseWriter, code, num int, msg string) {
	writeJSON(w, code, errorBody{Code: code, Error: true, ErrorMessage: msg, ErrorNum: num})
}

func methodNotAllowed(w http.ResponseWriter) {
	writeErr(w, http.StatusMethodNotAllowed, errNumHTTPMethod, "method not supported")
}

// authorized checks basic auth or an HS256 JWT signed with the secret,
// following the ArangoDB HTTP docs "Authentication" (3.11).
func (c *Cluster) authorized(r *http.Request) bool {
	if c.p.Username == "" && c.p.JWTSecret == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "basic":
		if c.p.Username == "" {
			return false
		}
		u, p, ok := r.BasicAuth()
		return ok && subtle.ConstantTimeCompare([]byte(u), []byte(c.p.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(c.p.Password)) == 1
	case "bearer":
		if c.p.JWTSecret == "" {
			return false
		}
		tok, err := jwt.Parse(strings.TrimSpace(cred), func(*jwt.Token) (any, error) {
			return []byte(c.p.JWTSecret), nil
		}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(c.skewedNow))
		return err == nil && tok.Valid
	}
	return false
}

func (c *Cluster) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !c.authorized(r) {
		w.Header().Set("Www-Authenticate", `Bearer token_type="JWT", realm="ArangoDB"`)
		writeErr(w, http.StatusUnauthorized, errNumForbidden, "not authorized to execute this request")
		return
	}
	db, path := "_system", r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/_db/"); ok {
		name, tail, _ := strings.Cut(rest, "/")
		if n, err := url.PathUnescape(name); err == nil {
			name = n
		}
		db, path = name, "/"+tail
		if !c.databaseExists(db) {
			writeErr(w, http.StatusNotFound, errNumDBNotFound, "database not found")
			return
		}
	}
	if c.routeDocuments(w, r, db, path) {
		return
	}
	switch {
	case path == "/_api/version":
		c.handleVersion(w, r)
	case path == "/_admin/metrics/v2" || path == "/_admin/metrics":
		c.handleMetrics(w, r)
	case path == "/_api/cluster/endpoints":
		c.handleEndpoints(w, r)
	case path == "/_api/database":
		c.handleDatabases(w, r)
	case path == "/_api/collection" || strings.HasPrefix(path, "/_api/collection/"):
		c.handleCollection(w, r, db, strings.TrimPrefix(strings.TrimPrefix(path, "/_api/collection"), "/"))
	case path == "/_admin/cluster/rebalance/execute":
		c.handleRebalanceExecute(w, r)
	case strings.HasPrefix(path, "/_admin/cluster/"):
		c.handleAdminCluster(w, r, db, strings.TrimPrefix(path, "/_admin/cluster/"))
	default:
		// Also /_api/agency/*: arangod registers it only where the agency
		// feature runs, on agents (arangodb/arangodb arangod/GeneralServer/
		// GeneralServerFeature.cpp, defineHandlers: "if (agency.isEnabled())
		// addPrefixHandler(AGENCY_PATH, …)"); on a coordinator the path
		// falls through to the "/" action handler, whose answer is this 404
		// (a real one: {"code":404,"error":true,"errorMessage":"unknown
		// path '/_api/version/'","errorNum":404}).
		writeErr(w, http.StatusNotFound, errNumHTTPNotFound, "unknown path '"+path+"'")
	}
}

func (c *Cluster) databaseExists(db string) bool {
	if db == "_system" {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, col := range c.colls {
		if col.spec.Database == db {
			return true
		}
	}
	return false
}

// handleDatabases lists the databases: GET /_api/database (ArangoDB HTTP
// API, "Databases" → "List all databases"): {"error":false,"code":200,
// "result":["_system",…]}. Only _system may call it, as in arangod.
func (c *Cluster) handleDatabases(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeErr(w, http.StatusMethodNotAllowed, errNumHTTPMethod, "method not supported")
		return
	}
	c.mu.Lock()
	seen := map[string]bool{"_system": true}
	dbs := []string{"_system"}
	for _, col := range c.colls {
		if !seen[col.spec.Database] {
			seen[col.spec.Database] = true
			dbs = append(dbs, col.spec.Database)
		}
	}
	c.mu.Unlock()
	sort.Strings(dbs[1:])
	writeJSON(w, http.StatusOK, map[string]any{"error": false, "code": http.StatusOK, "result": dbs})
}

// readJSON decodes the body into v; on failure it writes the error ArangoDB
// gives for unparsable bodies (400, errorNum 600) and returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		err = dec.Decode(v)
		if err == nil && dec.More() {
			err = errors.New("trailing data after JSON value")
		}
	}
	if err != nil {
		writeErr(w, http.StatusBadRequest, errNumCorruptedJSON, "VPackError error: "+err.Error())
		return false
	}
	return true
}

// handleVersion follows "GET /_api/version" (HTTP API: Administration, 3.11).
func (c *Cluster) handleVersion(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server": "arango", "license": "community", "version": c.p.Version})
}

// handleEndpoints follows "GET /_api/cluster/endpoints" (HTTP API:
// Cluster, 3.11): the GOOD coordinators' endpoints, which drivers use to
// spread requests.
func (c *Cluster) handleEndpoints(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	c.mu.Lock()
	eps := []map[string]string{}
	for _, s := range c.serversLocked() {
		if s.Role == Coordinator && s.Status == StatusGood {
			eps = append(eps, map[string]string{"endpoint": s.Endpoint})
		}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "endpoints": eps})
}

func (c *Cluster) handleAdminCluster(w http.ResponseWriter, r *http.Request, db, cmd string) {
	switch cmd {
	case "health":
		c.handleHealth(w, r)
	case "numberOfServers":
		c.handleNumberOfServers(w, r)
	case "cleanOutServer":
		c.handleCleanOut(w, r)
	case "queryAgencyJob":
		c.handleQueryJob(w, r)
	case "removeServer":
		c.handleRemoveServer(w, r)
	case "rebalance":
		c.handleRebalance(w, r)
	case "shardDistribution":
		c.handleShardDistribution(w, r, db)
	default:
		// RestAdminClusterHandler answers unknown commands this way.
		writeErr(w, http.StatusBadRequest, errNumHTTPBadParameter, "invalid command '"+cmd+"'")
	}
}

func roleName(r Role) string {
	if r == Coordinator {
		return "Coordinator"
	}
	return "DBServer"
}

func agentID(cluster string, i int) string {
	return "AGNT-" + uuidFrom(cluster, "agent", uint64(i))
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// handleHealth follows "GET /_admin/cluster/health" (HTTP API: Cluster,
// 3.11); the shape is the one in fixtures kube-arangodb_doc_cluster_health.
func (c *Cluster) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	c.mu.Lock()
	now := c.clk.Now()
	counts, _, _ := c.placementLocked()
	health := make(map[string]any, len(c.servers))
	for _, s := range c.servers {
		acked := now
		sync := "SERVING"
		status := s.status
		if status == StatusGood && c.reportedBad[s.id] {
			status = StatusBad
		}
		if status != StatusGood {
			if !s.downAt.IsZero() {
				acked = s.downAt // only reported BAD: no downAt, acked now
			}
			sync = "UNKNOWN"
		}
		host := s.endpoint
		if u, err := url.Parse(strings.Replace(s.endpoint, "tcp://", "http://", 1)); err == nil {
			host = u.Hostname()
		}
		at := stamp(acked)
		health[s.id] = serverHealth{
			Endpoint:      s.endpoint,
			Role:          roleName(s.role),
			ShortName:     s.shortName,
			Status:        status,
			SyncStatus:    sync,
			CanBeDeleted:  s.status == StatusFailed && counts[s.id] == 0,
			Version:       c.p.Version,
			Engine:        "rocksdb",
			Host:          host,
			LastAckedTime: at,
			SyncTime:      at,
			Timestamp:     at,
		}
	}
	for i := 0; i < c.p.Agents; i++ {
		// Agents as in the 3.4 sample: no ShortName, no SyncStatus, the
		// leader's ID in Leader.
		health[agentID(c.name, i)] = agentHealth{
			Endpoint:      fmt.Sprintf("tcp://agent-%d.invalid:8531", i),
			Role:          "Agent",
			Status:        StatusGood,
			CanBeDeleted:  false,
			Version:       c.p.Version,
			Engine:        "rocksdb",
			Leader:        agentID(c.name, 0),
			Leading:       i == 0,
			LastAckedTime: 0.1,
		}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, healthAnswer{ClusterID: c.id, Health: health, Error: false, Code: 200})
}

// The health answer's objects as structs, fields in the sorted order
// encoding/json gives map keys: the same bytes as maps, encoded without
// sorting and reflecting on every key (TestHealthBytes).
type (
	healthAnswer struct {
		ClusterID string         `json:"ClusterId"`
		Health    map[string]any `json:"Health"`
		Code      int            `json:"code"`
		Error     bool           `json:"error"`
	}
	serverHealth struct {
		CanBeDeleted  bool   `json:"CanBeDeleted"`
		Endpoint      string `json:"Endpoint"`
		Engine        string `json:"Engine"`
		Host          string `json:"Host"`
		LastAckedTime string `json:"LastAckedTime"`
		Role          string `json:"Role"`
		ShortName     string `json:"ShortName"`
		Status        string `json:"Status"`
		SyncStatus    string `json:"SyncStatus"`
		SyncTime      string `json:"SyncTime"`
		Timestamp     string `json:"Timestamp"`
		Version       string `json:"Version"`
	}
	agentHealth struct {
		CanBeDeleted  bool    `json:"CanBeDeleted"`
		Endpoint      string  `json:"Endpoint"`
		Engine        string  `json:"Engine"`
		LastAckedTime float64 `json:"LastAckedTime"`
		Leader        string  `json:"Leader"`
		Leading       bool    `json:"Leading"`
		Role          string  `json:"Role"`
		Status        string  `json:"Status"`
		Version       string  `json:"Version"`
	}
)

// handleNumberOfServers follows "GET/PUT /_admin/cluster/numberOfServers"
// (HTTP API: Cluster, 3.11): GET prints the agency's Target values flat
// (null when unset); PUT sets numberOfCoordinators / numberOfDBServers
// (a number, or null to unset) and cleanedServers (array of strings).
func (c *Cluster) handleNumberOfServers(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		c.mu.Lock()
		body := map[string]any{
			"error": false, "code": 200,
			"numberOfCoordinators": c.desiredCrdn, "numberOfDBServers": c.desiredDB,
			"cleanedServers": append([]string{}, c.cleaned...),
		}
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	case http.MethodPut:
		var in map[string]json.RawMessage
		if !readJSON(w, r, &in) {
			return
		}
		if in == nil {
			writeErr(w, http.StatusBadRequest, errNumBadParameter, "object expected")
			return
		}
		type set struct {
			present bool
			v       *int
		}
		var nums [2]set
		for i, k := range []string{"numberOfCoordinators", "numberOfDBServers"} {
			raw, ok := in[k]
			if !ok {
				continue
			}
			nums[i].present = true
			if string(bytes.TrimSpace(raw)) == "null" {
				continue
			}
			var f float64
			if err := json.Unmarshal(raw, &f); err != nil || f < 0 || f != math.Trunc(f) || f > 1e6 {
				writeErr(w, http.StatusBadRequest, errNumBadParameter, k+": number expected")
				return
			}
			n := int(f)
			nums[i].v = &n
		}
		var cleaned []string
		raw, hasCleaned := in["cleanedServers"]
		if hasCleaned {
			var list []any
			if err := json.Unmarshal(raw, &list); err != nil || list == nil {
				writeErr(w, http.StatusBadRequest, errNumBadParameter, "cleanedServers: array expected")
				return
			}
			for _, v := range list {
				s, ok := v.(string)
				if !ok {
					writeErr(w, http.StatusBadRequest, errNumBadParameter, "cleanedServers: array of strings expected")
					return
				}
				cleaned = append(cleaned, s)
			}
		}
		c.mu.Lock()
		if nums[0].present {
			c.desiredCrdn = nums[0].v
		}
		if nums[1].present {
			c.desiredDB = nums[1].v
		}
		if hasCleaned {
			c.cleaned = cleaned
		}
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200})
	default:
		methodNotAllowed(w)
	}
}

// handleCleanOut follows "POST /_admin/cluster/cleanOutServer" (HTTP API:
// Cluster, 3.11): 202 with the job id; the job itself may fail later.
func (c *Cluster) handleCleanOut(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	var in struct {
		Server *string `json:"server"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Server == nil {
		writeErr(w, http.StatusBadRequest, errNumBadParameter, "object with key `server`")
		return
	}
	id := c.CleanOutServer(*in.Server)
	writeJSON(w, http.StatusAccepted, map[string]any{"error": false, "code": 202, "id": id})
}

func (c *Cluster) jobJSONLocked(j *job) map[string]any {
	m := map[string]any{
		"type": j.typ, "jobId": j.id, "creator": j.creator, "timeCreated": j.created.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if j.server != "" {
		m["server"] = j.server
	}
	if !j.started.IsZero() {
		m["timeStarted"] = stamp(j.started)
	}
	if !j.done.IsZero() {
		m["timeFinished"] = stamp(j.done)
	}
	if j.reason != "" {
		m["reason"] = j.reason
	}
	if j.typ == "moveShard" && len(j.moves) == 1 {
		mv := j.moves[0]
		m["database"], m["collection"], m["shard"] = mv.sh.coll.spec.Database, mv.sh.coll.id, mv.sh.id
		m["fromServer"], m["toServer"], m["isLeader"] = mv.from, mv.to, mv.isLeader
	}
	return m
}

// handleQueryJob follows "GET /_admin/cluster/queryAgencyJob" as arangod
// 3.7+ answers it (arangodb/arangodb arangod/RestHandler/
// RestAdminClusterHandler.cpp handleQueryJobStatus): the job's own keys at
// the top level, then "error": false, "job": the id string and "status":
// the Target queue it sits in. No "code", no nested job object (that was
// the 3.4 shape of fixtures kube-arangodb_doc_queryAgencyJob_*.json).
// Unknown ids: 404 with errorNum 404 (TRI_ERROR_HTTP_NOT_FOUND).
func (c *Cluster) handleQueryJob(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	id := r.URL.Query().Get("id")
	if id == "" {
		writeErr(w, http.StatusBadRequest, errNumBadParameter, "missing id parameter")
		return
	}
	c.mu.Lock()
	j := c.jobLocked(id)
	var body map[string]any
	if j != nil {
		body = c.jobJSONLocked(j)
		body["error"], body["job"], body["status"] = false, j.id, j.status
	}
	c.mu.Unlock()
	if body == nil {
		writeErr(w, http.StatusNotFound, errNumHTTPNotFound, "not found")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// handleRemoveServer follows "POST /_admin/cluster/removeServer" (HTTP API:
// Cluster, 3.11): body is the server ID (or short name) as a JSON string, or
// {"server": …}. Success is a 200 with an empty body (RestAdminClusterHandler
// tryDeleteServer: resetResponse(OK), no payload). A real coordinator
// retries once a second, 60 times, before it answers 412 "server may not be
// deleted" (retryTryDeleteServer); the emulator answers at once, since a
// handler that waits on the virtual clock would block until a test advances
// it and the controller treats the 412 the same either way.
func (c *Cluster) handleRemoveServer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	var in any
	if !readJSON(w, r, &in) {
		return
	}
	var id string
	switch v := in.(type) {
	case string:
		id = v
	case map[string]any:
		s, ok := v["server"].(string)
		if !ok {
			writeErr(w, http.StatusBadRequest, errNumBadParameter, "expecting string or object with key `server`")
			return
		}
		id = s
	default:
		writeErr(w, http.StatusBadRequest, errNumBadParameter, "expecting string or object with key `server`")
		return
	}
	err := c.RemoveServer(id)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, ErrUnknownServer):
		writeErr(w, http.StatusNotFound, errNumHTTPNotFound, "not found")
	default:
		writeErr(w, http.StatusPreconditionFailed, errNumHTTPPrecondition, "server may not be deleted")
	}
}

// shardDistribution follows "GET /_admin/cluster/shardDistribution" (HTTP
// API: Cluster, 3.11): servers by short name (the reporter's aliases);
// Current lists only in-sync replicas. Like arangod
// (getDistributionForDatabase), only the collections of the database in
// the path are listed.
func (c *Cluster) handleShardDistribution(w http.ResponseWriter, r *http.Request, db string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	c.mu.Lock()
	alias := func(id string) string {
		if s := c.servers[id]; s != nil {
			return s.shortName
		}
		return id
	}
	results := map[string]any{}
	for _, col := range c.colls {
		if col.spec.Database != db {
			continue
		}
		plan, cur := map[string]any{}, map[string]any{}
		for _, sh := range col.shards {
			var pf []string
			for _, id := range c.planServersLocked(sh)[1:] {
				pf = append(pf, alias(id))
			}
			plan[sh.id] = map[string]any{"leader": alias(sh.servers[0]), "followers": nonNil(pf), "progress": nil}
			leader := ""
			var cf []string
			for i, id := range sh.servers {
				if !sh.inSync[id] {
					continue
				}
				if i == 0 {
					leader = alias(id)
				} else {
					cf = append(cf, alias(id))
				}
			}
			cur[sh.id] = map[string]any{"leader": leader, "followers": nonNil(cf)}
		}
		results[col.spec.Name] = map[string]any{"Plan": plan, "Current": cur}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "error": false, "code": 200})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// handleCollection follows the Collections HTTP API (3.11): list,
// /{name}, /{name}/properties and /{name}/shards[?details=true].
func (c *Cluster) handleCollection(w http.ResponseWriter, r *http.Request, db, rest string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rest == "" {
		list := []any{}
		for _, col := range c.colls {
			if col.spec.Database == db {
				list = append(list, c.collBasic(col))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "result": list})
		return
	}
	name, sub, _ := strings.Cut(rest, "/")
	if n, err := url.PathUnescape(name); err == nil {
		name = n
	}
	col := c.collectionLocked(db, name)
	if col == nil {
		writeErr(w, http.StatusNotFound, errNumCollNotFound, "collection or view not found")
		return
	}
	body := c.collBasic(col)
	body["error"], body["code"] = false, 200
	switch sub {
	case "":
	case "properties", "shards":
		body["replicationFactor"] = col.spec.ReplicationFactor
		body["writeConcern"] = col.spec.WriteConcern
		body["minReplicationFactor"] = col.spec.WriteConcern
		body["numberOfShards"] = col.spec.NumberOfShards
		body["shardKeys"] = []string{"_key"}
		body["shardingStrategy"] = "hash"
		body["waitForSync"] = false
		body["cacheEnabled"] = false
		body["keyOptions"] = map[string]any{"allowUserKeys": true, "type": "traditional"}
		// Required by docs-hugo 3.11 collections.md (getCollectionProperties,
		// getCollectionShards); a collection without a schema or computed
		// values has them null.
		body["statusString"] = "loaded"
		body["schema"] = nil
		body["computedValues"] = nil
		body["syncByRevision"] = true
		if col.spec.Database == "_system" && col.spec.Name != "_users" && slices.Contains(SystemCollections, col.spec.Name) {
			// UpgradeTasks.cpp: the system collections follow _users.
			body["distributeShardsLike"] = "_users"
		}
		if sub == "shards" {
			if d := r.URL.Query().Get("details"); d == "true" || d == "1" {
				m := map[string][]string{}
				for _, sh := range col.shards {
					m[sh.id] = append([]string(nil), sh.servers...)
				}
				body["shards"] = m
			} else {
				var ids []string
				for _, sh := range col.shards {
					ids = append(ids, sh.id)
				}
				body["shards"] = nonNil(ids)
			}
		}
	default:
		writeErr(w, http.StatusNotFound, errNumHTTPNotFound, "unknown path '/_api/collection/"+rest+"'")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (c *Cluster) collBasic(col *collection) map[string]any {
	return map[string]any{
		"id": col.id, "name": col.spec.Name, "status": 3, "type": 2,
		"isSystem": strings.HasPrefix(col.spec.Name, "_"), "globallyUniqueId": "c" + col.id + "/",
	}
}

// rebalanceReport is the "result" of GET /_admin/cluster/rebalance; arrays
// are indexed by DB server in ID order.
func (c *Cluster) rebalanceReportLocked(over map[*shard][]string) map[string]any {
	var dbs []*server
	for _, s := range c.servers {
		if s.role == DBServer {
			dbs = append(dbs, s)
		}
	}
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].id < dbs[j].id })
	idx := map[string]int{}
	for i, s := range dbs {
		idx[s.id] = i
	}
	n := len(dbs)
	leaders, shards, size := make([]int, n), make([]int, n), make([]int64, n)
	var total, totalSys int64
	var totalSize int64
	for _, col := range c.colls {
		b := col.shardBytes()
		for _, sh := range col.shards {
			srv := sh.servers
			if o, ok := over[sh]; ok {
				srv = o
			}
			for i, id := range srv {
				k, ok := idx[id]
				if !ok {
					continue
				}
				if i == 0 {
					leaders[k]++
				}
				shards[k]++
				size[k] += b
				total++
				totalSize += b
				if strings.HasPrefix(col.spec.Name, "_") {
					totalSys++
				}
			}
		}
	}
	var nLeaders int
	for _, l := range leaders {
		nLeaders += l
	}
	tw, ts := make([]float64, n), make([]float64, n)
	var li, si float64
	for i := range dbs {
		if n > 0 {
			tw[i] = float64(nLeaders) / float64(n)
			ts[i] = float64(totalSize) / float64(n)
		}
		li += (float64(leaders[i]) - tw[i]) * (float64(leaders[i]) - tw[i])
		si += (float64(size[i]) - ts[i]) * (float64(size[i]) - ts[i])
	}
	return map[string]any{
		"leader": map[string]any{
			"weightUsed": leaders, "targetWeight": tw, "numberShards": leaders, "leaderDupl": make([]int, n),
			"totalWeight": nLeaders, "imbalance": li, "totalShards": nLeaders,
		},
		"shards": map[string]any{
			"sizeUsed": size, "targetSize": ts, "numberShards": shards, "totalUsed": totalSize,
			"totalShards": total, "totalShardsFromSystemCollections": totalSys, "imbalance": si,
		},
	}
}

type rebalanceRequest struct {
	Version                  *int     `json:"version"`
	MoveLeaders              *bool    `json:"moveLeaders"`
	MoveFollowers            *bool    `json:"moveFollowers"`
	LeaderChanges            *bool    `json:"leaderChanges"`
	MaximumNumberOfMoves     *int     `json:"maximumNumberOfMoves"`
	ExcludeSystemCollections *bool    `json:"excludeSystemCollections"`
	DatabasesExcluded        []string `json:"databasesExcluded"`
	PiFactor                 *float64 `json:"piFactor"`
}

func boolOr(p *bool, d bool) bool {
	if p == nil {
		return d
	}
	return *p
}

// handleRebalance follows "GET/POST/PUT /_admin/cluster/rebalance" (HTTP
// API: Cluster, "Rebalance", 3.12; fixture docs-hugo_3.12_get_rebalance).
func (c *Cluster) handleRebalance(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		c.mu.Lock()
		res := c.rebalanceReportLocked(nil)
		var pending, todo int
		for _, j := range c.active {
			if j.typ != "moveShard" {
				continue
			}
			switch j.status {
			case JobPending:
				pending++
			case JobToDo:
				todo++
			}
		}
		res["pendingMoveShards"], res["todoMoveShards"] = pending, todo
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "result": res})
	case http.MethodPost, http.MethodPut:
		var in rebalanceRequest
		if !readJSON(w, r, &in) {
			return
		}
		if in.Version == nil || *in.Version != 1 {
			writeErr(w, http.StatusBadRequest, errNumBadParameter, "unknown version provided")
			return
		}
		maxMoves := 1000
		if in.MaximumNumberOfMoves != nil {
			maxMoves = *in.MaximumNumberOfMoves
		}
		if maxMoves > 5000 {
			maxMoves = 5000
		}
		c.mu.Lock()
		before := c.rebalanceReportLocked(nil)
		moves := c.planRebalanceLocked(rebalanceOpts{
			moveLeaders: boolOr(in.MoveLeaders, false), moveFollowers: boolOr(in.MoveFollowers, false),
			leaderChanges: boolOr(in.LeaderChanges, true), excludeSystem: boolOr(in.ExcludeSystemCollections, false),
			maxMoves: maxMoves, excludedDBs: in.DatabasesExcluded,
		})
		over := map[*shard][]string{}
		for _, m := range moves {
			col := c.collectionLocked(m.Database, m.Collection)
			for _, sh := range col.shards {
				if sh.id == m.Shard {
					srv, ok := over[sh]
					if !ok {
						srv = append([]string(nil), sh.servers...)
					}
					srv[indexOf(srv, m.From)] = m.To
					over[sh] = srv
				}
			}
		}
		after := c.rebalanceReportLocked(over)
		if r.Method == http.MethodPut {
			if err := c.executeMovesLocked(moves, c.clk.Now()); err != nil {
				c.mu.Unlock()
				writeErr(w, http.StatusBadRequest, errNumBadParameter, err.Error())
				return
			}
		}
		c.mu.Unlock()
		// docs-hugo 3.11 cluster.md documents 200 only for POST and PUT.
		writeJSON(w, http.StatusOK, map[string]any{"error": false, "code": http.StatusOK, "result": map[string]any{
			"imbalanceBefore": before, "imbalanceAfter": after, "moves": movesJSON(moves),
		}})
	default:
		methodNotAllowed(w)
	}
}

// moveJSON is a move shard operation as docs-hugo 3.11
// develop/http-api/cluster.md ("Compute a set of move shard operations",
// "Execute a set of move shard operations") defines it: from, to, shard,
// collection (the collection ID, a number) and isLeader; no database.
type moveJSON struct {
	From       string      `json:"from"`
	To         string      `json:"to"`
	Shard      string      `json:"shard"`
	Collection json.Number `json:"collection"`
	IsLeader   bool        `json:"isLeader"`
}

func movesJSON(moves []rebalanceMove) []moveJSON {
	out := make([]moveJSON, 0, len(moves))
	for _, m := range moves {
		out = append(out, moveJSON{From: m.From, To: m.To, Shard: m.Shard, Collection: json.Number(m.Collection), IsLeader: m.IsLeader})
	}
	return out
}

// movesFromJSON resolves executed moves: the collection ID (a number, or a
// string as go-driver sends it) names one collection across databases.
func (c *Cluster) movesFromJSON(in []json.RawMessage) ([]rebalanceMove, error) {
	out := make([]rebalanceMove, 0, len(in))
	for i, raw := range in {
		var m struct {
			From       string `json:"from"`
			To         string `json:"to"`
			Shard      string `json:"shard"`
			Collection any    `json:"collection"`
			IsLeader   bool   `json:"isLeader"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("moves[%d]: %w", i, err)
		}
		var id string
		switch v := m.Collection.(type) {
		case string:
			id = v
		case float64:
			id = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return nil, fmt.Errorf("moves[%d]: collection must be a collection ID", i)
		}
		mv := rebalanceMove{Collection: id, Shard: m.Shard, From: m.From, To: m.To, IsLeader: m.IsLeader}
		for _, col := range c.colls {
			if col.id == id {
				mv.Database = col.spec.Database
			}
		}
		out = append(out, mv)
	}
	return out, nil
}

// handleRebalanceExecute follows "POST /_admin/cluster/rebalance/execute"
// (HTTP API: Cluster, "Rebalance", 3.12): 202 when moves were scheduled,
// 200 when there were none.
func (c *Cluster) handleRebalanceExecute(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w)
		return
	}
	var in struct {
		Version *int              `json:"version"`
		Moves   []json.RawMessage `json:"moves"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Version == nil || *in.Version != 1 {
		writeErr(w, http.StatusBadRequest, errNumBadParameter, "unknown version provided")
		return
	}
	if len(in.Moves) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200})
		return
	}
	c.mu.Lock()
	moves, err := c.movesFromJSON(in.Moves)
	if err == nil {
		err = c.executeMovesLocked(moves, c.clk.Now())
	}
	c.mu.Unlock()
	if err != nil {
		writeErr(w, http.StatusBadRequest, errNumBadParameter, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"error": false, "code": 202})
}

func (c *Cluster) firstCoordinatorLocked() *server {
	var best *server
	for _, s := range c.servers {
		if s.role == Coordinator && s.status == StatusGood && (best == nil || s.id < best.id) {
			best = s
		}
	}
	return best
}

// handleMetrics follows "GET /_admin/metrics/v2" (HTTP API: Monitoring,
// 3.11): Prometheus text of the answering coordinator, or of ?serverId=…
// (forwarded). Unknown serverId: 404 with errorNum 400, as arangod does.
func (c *Cluster) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	id := r.URL.Query().Get("serverId")
	c.mu.Lock()
	var s *server
	if id == "" {
		s = c.firstCoordinatorLocked()
	} else {
		s = c.servers[id]
		if s == nil {
			c.mu.Unlock()
			writeErr(w, http.StatusNotFound, errNumHTTPBadParameter, "Unknown value of serverId parameter.\n")
			return
		}
	}
	if s == nil || s.status != StatusGood {
		c.mu.Unlock()
		writeErr(w, http.StatusServiceUnavailable, errNumHTTPUnavailable, "server did not answer")
		return
	}
	bp, _ := c.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	*bp = c.renderMetricsLocked(s, *bp)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	w.Header().Set("Server", "ArangoDB")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(*bp)
	c.bufs.Put(bp) // Write is done with it (http.ResponseWriter copies or sends)
}
