package controller

import "time"

// DiscoveryStatus is the /status view of cluster discovery (package
// discovery): what the latest round found and what was wrong with it.
type DiscoveryStatus struct {
	// LastRun is when Marathon was last listed.
	LastRun time.Time `json:"last_run,omitzero"`
	// Clusters are the clusters found and scaled, by name.
	Clusters []DiscoveredCluster `json:"clusters"`
	// Shadowed names labelled clusters that the policy file already
	// defines (by name or by app): the file's policy is used for them.
	Shadowed []string `json:"shadowed,omitempty"`
	// Errors are the problems of the latest round: an unknown template, an
	// incomplete cluster, a failed listing (then the previous clusters stay).
	Errors []string `json:"errors,omitempty"`
}

// DiscoveredCluster is one cluster found by its Marathon labels.
type DiscoveredCluster struct {
	Name         string   `json:"name"`
	Template     string   `json:"template"`
	Coordinators string   `json:"coordinators,omitempty"`
	DBServers    string   `json:"dbservers,omitempty"`
	Endpoints    []string `json:"endpoints"`
}

// SetDiscovery records the outcome of a discovery round for /status and
// the arangoscale_discovered_clusters and arangoscale_discovery_errors
// metrics.
func (c *Controller) SetDiscovery(st DiscoveryStatus) {
	c.metrics.discovered.Set(float64(len(st.Clusters)))
	c.metrics.discoveryErrors.Set(float64(len(st.Errors)))
	c.mu.Lock()
	c.discovery = &st
	c.mu.Unlock()
}

func (c *Controller) discoveryStatus() *DiscoveryStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.discovery == nil {
		return nil
	}
	st := *c.discovery
	return &st
}
