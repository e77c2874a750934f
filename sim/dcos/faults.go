package dcos

import (
	"net/http"
	"strconv"
	"time"
)

// Fault hooks: small switches a fault injector (package sim/fault) flips to
// make the emulated DC/OS misbehave the way a real one does at times. They
// change only what the emulator reports or how fast it progresses; the
// HTTP-level faults (5xx, resets, slow answers) are done by wrapping the
// listeners' handlers (Params.Wrap).

// Services named to Params.Wrap.
const (
	ServiceMarathon = "marathon"
	ServiceMesos    = "mesos"
)

// AgentService is the Params.Wrap service name of Mesos agent i.
func AgentService(i int) string { return "agent:" + strconv.Itoa(i) }

// wrap applies p.Wrap, if any.
func (c *Cluster) wrap(service string, h http.Handler) http.Handler {
	if c.p.Wrap == nil {
		return h
	}
	return c.p.Wrap(service, h)
}

// faults is the emulator's fault state, guarded by Cluster.mu.
type faults struct {
	stuckApps      map[string]bool // deployments of these apps never finish
	unhealthyApps  map[string]bool // tasks of these apps fail their health checks
	hiddenStats    map[string]bool // task ids missing from agent statistics
	leader         string          // host:port /v2/leader names ("" = this one)
	unhealthyTasks map[string]bool // single tasks failing their health checks
}

func setFlag(m *map[string]bool, key string, on bool) {
	if on {
		if *m == nil {
			*m = map[string]bool{}
		}
		(*m)[key] = true
		return
	}
	delete(*m, key)
}

// SetDeploymentStuck makes every deployment of the app never finish while
// on (a deployment waiting for instances that never turn healthy, say):
// Marathon keeps the app locked and answers 409 to changes without force.
func (c *Cluster) SetDeploymentStuck(appID string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	setFlag(&c.faults.stuckApps, normalizeAppID(appID), on)
}

// SetHealthFailing makes the app's tasks fail their health checks while
// on: healthy tasks turn unhealthy at once, new ones never pass. When it
// is switched off they pass again HealthDelay later.
func (c *Cluster) SetHealthFailing(appID string, on bool) {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	id := normalizeAppID(appID)
	setFlag(&c.faults.unhealthyApps, id, on)
	if a, ok := c.apps[id]; ok {
		for _, t := range a.tasks {
			c.applyHealthFaultLocked(t, c.clk.Now())
		}
	}
}

// SetTaskHealthFailing is SetHealthFailing for one task.
func (c *Cluster) SetTaskHealthFailing(taskID string, on bool) {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	setFlag(&c.faults.unhealthyTasks, taskID, on)
	if t := c.findTask(taskID); t != nil {
		c.applyHealthFaultLocked(t, c.clk.Now())
	}
}

// applyHealthFaultLocked: a task failing its checks loses its health; one
// that recovers passes its next check HealthDelay after now.
func (c *Cluster) applyHealthFaultLocked(t *task, now time.Time) {
	failing := c.healthFailingLocked(t)
	switch {
	case failing && !t.unhealthy:
		t.unhealthy = true
		t.healthyAt = time.Time{}
	case !failing && t.unhealthy:
		t.unhealthy = false
		t.healthFrom = now
	}
}

func (c *Cluster) healthFailingLocked(t *task) bool {
	return c.faults.unhealthyApps[t.app.spec.ID] || c.faults.unhealthyTasks[t.id]
}

// HideTaskStatistics leaves a task out of its agent's
// /monitor/statistics while on, as an agent does for an executor it lost
// track of.
func (c *Cluster) HideTaskStatistics(taskID string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	setFlag(&c.faults.hiddenStats, taskID, on)
}

// SetLeader makes GET /v2/leader name hostPort (a Marathon leader change);
// "" names this Marathon again.
func (c *Cluster) SetLeader(hostPort string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults.leader = hostPort
}
