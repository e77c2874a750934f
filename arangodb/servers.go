package arangodb

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Server roles as reported in ServerHealth.Role.
const (
	RoleCoordinator = "COORDINATOR"
	RoleDBServer    = "DBSERVER"
	RoleAgent       = "AGENT"
)

// Server statuses as reported in ServerHealth.Status.
const (
	StatusGood   = "GOOD"
	StatusBad    = "BAD"
	StatusFailed = "FAILED"
)

// ServerHealth is one server of the cluster as the supervision sees it.
type ServerHealth struct {
	// ID is the server's cluster ID (e.g. "PRMR-wbsq47rz").
	ID string
	// ShortName is e.g. "DBServer0006"; empty for agents.
	ShortName string
	// Role is RoleCoordinator, RoleDBServer or RoleAgent.
	Role string
	// Status is StatusGood, StatusBad or StatusFailed.
	Status string
	// Endpoint as ArangoDB reports it (tcp://host:port or ssl://host:port).
	Endpoint string
	// CanBeDeleted: removeServer would succeed now (FAILED, and for a DB
	// server: responsible for no shard in Plan or Current).
	CanBeDeleted bool
}

// Health returns every server of the cluster, sorted by ID.
// GET /_admin/cluster/health; read every interval, so decoded into the
// fields used here only (see call), those of go-driver's ServerHealth.
func (c *Client) Health(ctx context.Context) ([]ServerHealth, error) {
	var h struct {
		Health map[string]struct {
			Endpoint     string `json:"Endpoint"`
			Role         string `json:"Role"`
			ShortName    string `json:"ShortName"`
			Status       string `json:"Status"`
			CanBeDeleted bool   `json:"CanBeDeleted"`
		} `json:"Health"`
	}
	if err := c.call(ctx, http.MethodGet, "_admin/cluster/health", nil, &h); err != nil {
		return nil, err
	}
	out := make([]ServerHealth, 0, len(h.Health))
	for id, s := range h.Health {
		out = append(out, ServerHealth{
			ID:           id,
			ShortName:    s.ShortName,
			Role:         normalizeRole(s.Role),
			Status:       strings.ToUpper(s.Status),
			Endpoint:     s.Endpoint,
			CanBeDeleted: s.CanBeDeleted,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// normalizeRole maps the health API's "Coordinator"/"DBServer"/"Agent" (and
// the upper-case spellings of /_admin/server/role) to our constants.
func normalizeRole(r string) string {
	switch strings.ToUpper(r) {
	case "COORDINATOR":
		return RoleCoordinator
	case "DBSERVER", "PRIMARY":
		return RoleDBServer
	case "AGENT":
		return RoleAgent
	}
	return strings.ToUpper(r)
}

// NumberOfServers is the cluster's target size as stored in the agency
// (Target/NumberOf*), which ArangoDB's web UI scale buttons write.
type NumberOfServers struct {
	Coordinators, DBServers int
	// CoordinatorsSet / DBServersSet are false when no target is stored
	// (the counts are then 0 and mean nothing).
	CoordinatorsSet, DBServersSet bool
	// CleanedServers are the IDs of cleaned-out DB servers.
	CleanedServers []string
}

// NumberOfServers reads GET /_admin/cluster/numberOfServers. The driver's
// method cannot tell "not set" from 0, which the controller needs to
// recognise a manual change, so this is a raw call on its connection.
func (c *Client) NumberOfServers(ctx context.Context) (NumberOfServers, error) {
	var r struct {
		Coordinators   *int     `json:"numberOfCoordinators"`
		DBServers      *int     `json:"numberOfDBServers"`
		CleanedServers []string `json:"cleanedServers"`
	}
	if err := c.call(ctx, http.MethodGet, "_admin/cluster/numberOfServers", nil, &r); err != nil {
		return NumberOfServers{}, err
	}
	var n NumberOfServers
	if r.Coordinators != nil {
		n.Coordinators, n.CoordinatorsSet = *r.Coordinators, true
	}
	if r.DBServers != nil {
		n.DBServers, n.DBServersSet = *r.DBServers, true
	}
	n.CleanedServers = r.CleanedServers
	return n, nil
}

// SetNumberOfServers writes the target counts with
// PUT /_admin/cluster/numberOfServers. A nil pointer leaves that count as
// it is; both nil is a no-op without a request.
func (c *Client) SetNumberOfServers(ctx context.Context, coordinators, dbservers *int) error {
	body := map[string]int{}
	if coordinators != nil {
		if *coordinators < 0 {
			return fmt.Errorf("arangodb: SetNumberOfServers: negative coordinators %d", *coordinators)
		}
		body["numberOfCoordinators"] = *coordinators
	}
	if dbservers != nil {
		if *dbservers < 0 {
			return fmt.Errorf("arangodb: SetNumberOfServers: negative dbservers %d", *dbservers)
		}
		body["numberOfDBServers"] = *dbservers
	}
	if len(body) == 0 {
		return nil
	}
	return c.call(ctx, http.MethodPut, "_admin/cluster/numberOfServers", body, nil)
}
