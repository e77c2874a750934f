package dcos

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Marathon REST API v2. Paths, field names, status codes and error bodies
// follow the Marathon 1.x RAML (mesosphere/marathon
// docs/docs/rest-api/public/api/v2/*.raml and its examples/) and
// src/main/scala/mesosphere/marathon/api/MarathonExceptionMapper.scala.

const maxBody = 1 << 20

// marathonTime is Marathon's ISO-8601 timestamp with milliseconds, in UTC.
func marathonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type errDetail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

type errBody struct {
	Message     string          `json:"message"`
	Details     []errDetail     `json:"details,omitempty"`
	Deployments []deploymentRef `json:"deployments,omitempty"`
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errBody{Message: msg})
}

// methodAllowed answers 405 (as Marathon's Jersey/Akka HTTP layer does)
// unless r uses one of methods.
func methodAllowed(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) || (r.Method == http.MethodHead && slices.Contains(methods, http.MethodGet)) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeMessage(w, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	return false
}

// decodeBody reads a JSON body. Syntax errors are 400 "Invalid JSON" with
// the parser message under path "/"; type errors are 422 with the field
// path (MarathonExceptionMapper: JsonParseException → 400,
// JsResultException → 422).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err == nil {
		return true
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		writeJSON(w, http.StatusUnprocessableEntity, errBody{Message: "Invalid JSON",
			Details: []errDetail{{Path: "/" + strings.ReplaceAll(te.Field, ".", "/"), Errors: []string{"error.expected." + te.Value + "->" + te.Type.String()}}}})
		return false
	}
	writeJSON(w, http.StatusBadRequest, errBody{Message: "Invalid JSON",
		Details: []errDetail{{Path: "/", Errors: []string{err.Error()}}}})
	return false
}

// jsonBody tells whether a request's body, if it may carry one, is
// declared application/json (parameters such as charset aside).
func jsonBody(r *http.Request) bool {
	if r.Method != http.MethodPut && r.Method != http.MethodPost && r.Method != http.MethodPatch {
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

func boolQuery(r *http.Request, name string) bool {
	b, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return b
}

// MarathonHandler serves the Marathon API (and the DC/OS login) with the
// optional DC/OS token check in front.
func (c *Cluster) MarathonHandler() http.Handler {
	return c.requireToken(http.HandlerFunc(c.serveMarathon))
}

func (c *Cluster) serveMarathon(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	// DC/OS admin router serves Marathon under /service/marathon, and
	// go-marathon adds /marathon when it is given a DC/OS token.
	for _, p := range []string{"/service/marathon", "/marathon"} {
		if rest, ok := strings.CutPrefix(path, p); ok && (rest == "" || rest[0] == '/') {
			path = rest
			break
		}
	}
	switch {
	case path == "/ping":
		if methodAllowed(w, r, http.MethodGet) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "pong\n")
		}
	case path == loginPath:
		if methodAllowed(w, r, http.MethodPost) {
			c.serveLogin(w, r)
		}
	case path == "/v2/info":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveInfo(w)
		}
	case path == "/v2/leader":
		if methodAllowed(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, map[string]string{"leader": c.marathonHostPort()})
		}
	case path == "/v2/apps" || path == "/v2/apps/":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveAppList(w, r)
		}
	case path == "/v2/deployments" || path == "/v2/deployments/":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveDeployments(w)
		}
	case strings.HasPrefix(path, "/v2/deployments/"):
		if methodAllowed(w, r, http.MethodDelete) {
			c.serveDeleteDeployment(w, r, strings.TrimPrefix(path, "/v2/deployments/"))
		}
	case path == "/v2/tasks":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveAllTasks(w, r)
		}
	case path == "/v2/tasks/delete":
		if methodAllowed(w, r, http.MethodPost) {
			c.serveBulkKill(w, r)
		}
	case path == "/v2/queue":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveQueue(w)
		}
	case strings.HasPrefix(path, "/v2/apps/"):
		rest := strings.TrimPrefix(path, "/v2/apps")
		if i := strings.LastIndex(rest, "/tasks/"); i >= 0 {
			if methodAllowed(w, r, http.MethodDelete) {
				c.serveKillOne(w, r, normalizeAppID(rest[:i]), rest[i+len("/tasks/"):])
			}
			return
		}
		if appPath, ok := strings.CutSuffix(rest, "/tasks"); ok {
			if methodAllowed(w, r, http.MethodGet, http.MethodDelete) {
				c.serveAppTasks(w, r, normalizeAppID(appPath))
			}
			return
		}
		if methodAllowed(w, r, http.MethodGet, http.MethodPut) {
			if r.Method == http.MethodPut {
				// JAX-RS matches the method first (405), then @Consumes (415).
				if c.p.Strict && !jsonBody(r) {
					writeMessage(w, http.StatusUnsupportedMediaType, "HTTP 415 Unsupported Media Type")
					return
				}
				c.servePutApp(w, r, normalizeAppID(rest))
			} else {
				c.serveGetApp(w, normalizeAppID(rest))
			}
		}
	default:
		writeMessage(w, http.StatusNotFound, "HTTP 404 Not Found")
	}
}

func (c *Cluster) marathonHostPort() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults.leader != "" {
		return c.faults.leader
	}
	if c.marathonSrv != nil {
		return c.marathonSrv.ln.Addr().String()
	}
	return "127.0.0.1:8080"
}

// serveInfo follows examples/info.json; info.raml MarathonConfig requires
// features and the task_lost_expunge_* keys, ZooKeeperConfig the zk_*
// timeouts and zk_max_versions (values: examples/info.json).
func (c *Cluster) serveInfo(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name":        "marathon",
		"version":     "1.10.0",
		"buildref":    "arangoscale-sim",
		"elected":     true,
		"leader":      c.marathonHostPort(),
		"frameworkId": c.frameworkID,
		"marathon_config": map[string]any{
			"master":                          "zk://127.0.0.1:2181/mesos",
			"mesos_leader_ui_url":             c.MesosURL() + "/",
			"framework_name":                  "marathon",
			"hostname":                        "127.0.0.1",
			"mesos_role":                      "*",
			"mesos_user":                      "root",
			"ha":                              false,
			"features":                        []string{},
			"task_lost_expunge_initial_delay": 300000,
			"task_lost_expunge_interval":      30000,
		},
		"zookeeper_config": map[string]any{
			"zk":                    "zk://127.0.0.1:2181/marathon",
			"zk_connection_timeout": 10000,
			"zk_max_versions":       50,
			"zk_session_timeout":    10000,
			"zk_timeout":            10000,
		},
		"http_config": map[string]any{"http_port": 8080, "https_port": 8443},
	})
}

type deploymentRef struct {
	ID string `json:"id"`
}

type portDefinition struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels"`
}

type healthCheck struct {
	Protocol               string `json:"protocol"`
	Path                   string `json:"path"`
	PortIndex              int    `json:"portIndex"`
	GracePeriodSeconds     int    `json:"gracePeriodSeconds"`
	IntervalSeconds        int    `json:"intervalSeconds"`
	TimeoutSeconds         int    `json:"timeoutSeconds"`
	MaxConsecutiveFailures int    `json:"maxConsecutiveFailures"`
	DelaySeconds           int    `json:"delaySeconds"`
}

type versionInfo struct {
	LastScalingAt      string `json:"lastScalingAt"`
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}

type upgradeStrategy struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

type lastTaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	// task.raml TaskFailure: slaveId?: string (the failed status's agent).
	SlaveID string `json:"slaveId,omitempty"`
}

type appJSON struct {
	ID                    string            `json:"id"`
	Cmd                   string            `json:"cmd,omitempty"`
	Instances             int               `json:"instances"`
	CPUs                  float64           `json:"cpus"`
	Mem                   float64           `json:"mem"`
	Disk                  float64           `json:"disk"`
	GPUs                  int               `json:"gpus"`
	Constraints           [][]string        `json:"constraints"`
	Env                   map[string]string `json:"env"`
	Labels                map[string]string `json:"labels"`
	PortDefinitions       []portDefinition  `json:"portDefinitions"`
	RequirePorts          bool              `json:"requirePorts"`
	BackoffSeconds        float64           `json:"backoffSeconds"`
	BackoffFactor         float64           `json:"backoffFactor"`
	MaxLaunchDelaySeconds float64           `json:"maxLaunchDelaySeconds"`
	KillSelection         string            `json:"killSelection"`
	UpgradeStrategy       upgradeStrategy   `json:"upgradeStrategy"`
	HealthChecks          []healthCheck     `json:"healthChecks"`
	Version               string            `json:"version"`
	VersionInfo           versionInfo       `json:"versionInfo"`
	TasksStaged           *int              `json:"tasksStaged,omitempty"`
	TasksRunning          *int              `json:"tasksRunning,omitempty"`
	TasksHealthy          *int              `json:"tasksHealthy,omitempty"`
	TasksUnhealthy        *int              `json:"tasksUnhealthy,omitempty"`
	// Embedded lists are written even when empty ("deployments": [] in
	// marathon-lb's Marathon 1.5 captures); nil means not embedded.
	Deployments     *[]deploymentRef `json:"deployments,omitempty"`
	Tasks           *[]taskJSON      `json:"tasks,omitempty"`
	LastTaskFailure *lastTaskFailure `json:"lastTaskFailure,omitempty"`
}

type ipAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

type healthResult struct {
	Alive               bool    `json:"alive"`
	ConsecutiveFailures int     `json:"consecutiveFailures"`
	FirstSuccess        string  `json:"firstSuccess"`
	LastFailure         *string `json:"lastFailure"`
	LastSuccess         string  `json:"lastSuccess"`
	LastFailureCause    *string `json:"lastFailureCause"`
	InstanceID          string  `json:"instanceId"`
}

type taskJSON struct {
	ID           string      `json:"id"`
	AppID        string      `json:"appId"`
	Host         string      `json:"host"`
	IPAddresses  []ipAddress `json:"ipAddresses"`
	Ports        []int       `json:"ports"`
	ServicePorts []int       `json:"servicePorts"`
	// slaveId only: Marathon's task writer (TaskConversion,
	// EnrichedTaskConversion) never writes agentId, and v2/types/task.raml's
	// Task has no such key.
	SlaveID            string         `json:"slaveId"`
	StagedAt           string         `json:"stagedAt"`
	StartedAt          string         `json:"startedAt,omitempty"`
	Version            string         `json:"version"`
	State              string         `json:"state"`
	HealthCheckResults []healthResult `json:"healthCheckResults,omitempty"`
	LocalVolumes       []any          `json:"localVolumes"`
	Role               string         `json:"role"`
}

func (t *task) json() taskJSON {
	a := t.app
	tj := taskJSON{
		ID:           t.id,
		AppID:        a.spec.ID,
		Host:         "127.0.0.1",
		IPAddresses:  []ipAddress{{IPAddress: "127.0.0.1", Protocol: "IPv4"}},
		Ports:        slices.Clone(t.ports),
		ServicePorts: make([]int, 0, a.spec.Ports),
		SlaveID:      t.agent.id,
		StagedAt:     marathonTime(t.stagedAt),
		StartedAt:    marathonTime(t.startedAt),
		Version:      marathonTime(t.version),
		State:        t.state(),
		LocalVolumes: []any{},
		Role:         "*",
	}
	for i := range a.spec.Ports {
		tj.ServicePorts = append(tj.ServicePorts, a.servicePort+i)
	}
	if t.healthy() {
		tj.HealthCheckResults = []healthResult{{Alive: true, FirstSuccess: marathonTime(t.healthyAt),
			LastSuccess: marathonTime(t.healthyAt), InstanceID: taskIDPrefix(a.spec.ID) + ".instance-" + t.instanceID}}
	}
	return tj
}

type embed struct{ tasks, counts, deployments, lastFailure bool }

func (a *app) json(e embed) appJSON {
	aj := appJSON{
		ID:                    a.spec.ID,
		Cmd:                   a.spec.Cmd,
		Instances:             a.spec.Instances,
		CPUs:                  a.spec.CPUs,
		Mem:                   a.spec.MemMB,
		Disk:                  a.spec.DiskMB,
		Constraints:           [][]string{},
		Env:                   map[string]string{},
		Labels:                a.spec.Labels,
		BackoffSeconds:        1,
		BackoffFactor:         1.15,
		MaxLaunchDelaySeconds: 300,
		KillSelection:         "YOUNGEST_FIRST",
		UpgradeStrategy:       upgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1},
		HealthChecks: []healthCheck{{Protocol: "MESOS_HTTP", Path: "/_api/version", GracePeriodSeconds: 300,
			IntervalSeconds: 60, TimeoutSeconds: 20, MaxConsecutiveFailures: 3, DelaySeconds: 15}},
		Version:     marathonTime(a.version),
		VersionInfo: versionInfo{LastScalingAt: marathonTime(a.lastScalingAt), LastConfigChangeAt: marathonTime(a.lastConfigAt)},
	}
	for i := range a.spec.Ports {
		aj.PortDefinitions = append(aj.PortDefinitions, portDefinition{Port: a.servicePort + i, Protocol: "tcp",
			Name: fmt.Sprintf("port%d", i), Labels: map[string]string{}})
	}
	if e.counts {
		staged, running, healthy := a.counts()
		unhealthy := 0
		aj.TasksStaged, aj.TasksRunning, aj.TasksHealthy, aj.TasksUnhealthy = &staged, &running, &healthy, &unhealthy
	}
	if e.deployments {
		ds := []deploymentRef{}
		if a.deployment != nil {
			ds = append(ds, deploymentRef{ID: a.deployment.id})
		}
		aj.Deployments = &ds
	}
	if e.tasks {
		ts := make([]taskJSON, 0, len(a.tasks))
		for _, t := range a.tasks {
			ts = append(ts, t.json())
		}
		aj.Tasks = &ts
	}
	if e.lastFailure && a.lastFailure != nil {
		f := a.lastFailure
		aj.LastTaskFailure = &lastTaskFailure{AppID: a.spec.ID, Host: f.host, Message: f.message, State: f.state,
			TaskID: f.taskID, Timestamp: marathonTime(f.at), Version: marathonTime(f.version), SlaveID: f.slaveID}
	}
	return aj
}

// parseEmbed reads ?embed=apps.tasks&embed=app.counts… as Marathon's
// AppInfoEmbedResolver does (mesosphere/marathon api/v2/AppInfoEmbedResolver.scala):
// the apps./app. prefix is optional, tasks brings deployments along,
// the deprecated failures means tasks, lastTaskFailure and deployments, and
// unknown values are ignored (a warning in Marathon's log, no 400).
// taskStats is accepted but the emulator keeps no task statistics, so
// tasksStats (optional in AppInfo) is never written.
func parseEmbed(r *http.Request, e embed) embed {
	for _, v := range r.URL.Query()["embed"] {
		switch strings.TrimPrefix(strings.TrimPrefix(v, "apps."), "app.") {
		case "tasks":
			e.tasks, e.deployments = true, true
		case "failures":
			e.tasks, e.lastFailure, e.deployments = true, true, true
		case "counts":
			e.counts = true
		case "deployments":
			e.deployments = true
		case "lastTaskFailure":
			e.lastFailure = true
		}
	}
	return e
}

// serveAppList: GET /v2/apps (apps.raml). Counts and deployments are
// embedded by default for compatibility, tasks only on request; ?id=
// filters by substring, ?label= by label selectors (labels.go). A selector
// Marathon cannot parse is an IllegalArgumentException ("Can not parse
// label selector …", LabelSelectorParsers.parsed), which Marathon's
// MarathonExceptionMapper answers with 422 and {"message": …}.
func (c *Cluster) serveAppList(w http.ResponseWriter, r *http.Request) {
	e := parseEmbed(r, embed{counts: true, deployments: true})
	filter := r.URL.Query().Get("id")
	query := r.URL.Query().Get("label")
	sel, err := parseLabelSelectors(query)
	if err != nil {
		writeMessage(w, http.StatusUnprocessableEntity, fmt.Sprintf("Can not parse label selector %s. Reason: %v", query, err))
		return
	}
	c.mu.Lock()
	out := struct {
		Apps []appJSON `json:"apps"`
	}{Apps: []appJSON{}}
	for _, id := range c.sortedAppIDs() {
		if strings.Contains(id, filter) && matchesAll(sel, c.apps[id].spec.Labels) {
			out.Apps = append(out.Apps, c.apps[id].json(e))
		}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func appNotFound(w http.ResponseWriter, id string) {
	writeMessage(w, http.StatusNotFound, fmt.Sprintf("App '%s' does not exist", id))
}

// serveGetApp: GET /v2/apps/{appId} → {"app":{…}} with tasks, counts,
// deployments and lastTaskFailure (AppsResource.show embeds them always).
func (c *Cluster) serveGetApp(w http.ResponseWriter, id string) {
	c.mu.Lock()
	a, ok := c.apps[id]
	var aj appJSON
	if ok {
		aj = a.json(embed{tasks: true, counts: true, deployments: true, lastFailure: true})
	}
	c.mu.Unlock()
	if !ok {
		appNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]appJSON{"app": aj})
}

type appUpdate struct {
	Instances *int               `json:"instances"`
	CPUs      *float64           `json:"cpus"`
	Mem       *float64           `json:"mem"`
	Disk      *float64           `json:"disk"`
	Labels    *map[string]string `json:"labels"`
	Cmd       *string            `json:"cmd"`
}

type deploymentResult struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

func (c *Cluster) writeLocked(w http.ResponseWriter, d *deployment) {
	writeJSON(w, http.StatusConflict, errBody{
		Message:     fmt.Sprintf("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/%s'.", d.id),
		Deployments: []deploymentRef{{ID: d.id}},
	})
}

func invalid(w http.ResponseWriter, path, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, errBody{Message: "Object is not valid",
		Details: []errDetail{{Path: path, Errors: []string{msg}}}})
}

// servePutApp: PUT /v2/apps/{appId}[?force=true] (apps.raml): 200 with
// deploymentId + version, 201 when it creates the app, 409 while locked.
// Resource or label changes count as a config change; the emulator does
// not restart tasks for them.
func (c *Cluster) servePutApp(w http.ResponseWriter, r *http.Request, id string) {
	var u appUpdate
	if !decodeBody(w, r, &u) {
		return
	}
	switch {
	case u.Instances != nil && *u.Instances < 0:
		invalid(w, "/instances", fmt.Sprintf("got %d, expected 0 or more", *u.Instances))
		return
	case u.Instances != nil && *u.Instances > MaxInstances:
		// An emulator limit, not Marathon's: every instance costs memory.
		invalid(w, "/instances", fmt.Sprintf("got %d, expected %d or less", *u.Instances, MaxInstances))
		return
	case u.CPUs != nil && *u.CPUs < 0.001:
		// app.raml App.cpus: minimum 0.001.
		invalid(w, "/cpus", fmt.Sprintf("got %v, expected 0.001 or more", *u.CPUs))
		return
	case u.Mem != nil && *u.Mem < 0:
		invalid(w, "/mem", "got a negative value, expected 0 or more")
		return
	case u.Disk != nil && *u.Disk < 0:
		invalid(w, "/disk", "got a negative value, expected 0 or more")
		return
	}
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clk.Now()
	a, ok := c.apps[id]
	status := http.StatusOK
	if !ok {
		if !validAppID(id) {
			invalid(w, "/id", "must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'")
			return
		}
		// Marathon's defaults for a new app (AppDefinition.scala).
		a = c.newApp(AppSpec{ID: id, Instances: 0, CPUs: 1, MemMB: 128})
		status = http.StatusCreated
		if u.Instances == nil {
			one := 1
			u.Instances = &one
		}
	} else if a.deployment != nil && !boolQuery(r, "force") {
		c.writeLocked(w, a.deployment)
		return
	}
	changed := false
	if u.CPUs != nil && *u.CPUs != a.spec.CPUs {
		a.spec.CPUs, changed = *u.CPUs, true
	}
	if u.Mem != nil && *u.Mem != a.spec.MemMB {
		a.spec.MemMB, changed = *u.Mem, true
	}
	if u.Disk != nil && *u.Disk != a.spec.DiskMB {
		a.spec.DiskMB, changed = *u.Disk, true
	}
	if u.Labels != nil {
		a.spec.Labels, changed = *u.Labels, true
		if a.spec.Labels == nil {
			a.spec.Labels = map[string]string{}
		}
	}
	if u.Cmd != nil && *u.Cmd != a.spec.Cmd {
		a.spec.Cmd, changed = *u.Cmd, true
	}
	if changed {
		// VersionInfo.forNewConfig (mesosphere/marathon state/VersionInfo.scala):
		// a config change moves lastScalingAt along with lastConfigChangeAt.
		a.lastConfigAt, a.lastScalingAt = now, now
	}
	before := map[*app]int{a: a.spec.Instances}
	if u.Instances != nil {
		c.scaleTo(a, *u.Instances, now)
	}
	d := c.newDeployment(now, before, a)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/v2/apps"+id)
	}
	writeJSON(w, status, deploymentResult{DeploymentID: d.id, Version: marathonTime(now)})
}

// serveDeployments: GET /v2/deployments (deployments.raml, examples/deployments.json).
func (c *Cluster) serveDeployments(w http.ResponseWriter) {
	type action struct {
		Action string `json:"action"`
		App    string `json:"app"`
	}
	// deploymentEventsInfo.raml: a current action requires
	// readinessCheckResults, a step's action has none.
	type currentAction struct {
		action
		ReadinessCheckResults []any `json:"readinessCheckResults"`
	}
	type step struct {
		Actions []action `json:"actions"`
	}
	type dep struct {
		ID             string          `json:"id"`
		Version        string          `json:"version"`
		AffectedApps   []string        `json:"affectedApps"`
		AffectedPods   []string        `json:"affectedPods"`
		Steps          []step          `json:"steps"`
		CurrentActions []currentAction `json:"currentActions"`
		CurrentStep    int             `json:"currentStep"`
		TotalSteps     int             `json:"totalSteps"`
	}
	c.mu.Lock()
	out := make([]dep, 0, len(c.deployments))
	for _, d := range c.deployments {
		dj := dep{ID: d.id, Version: marathonTime(d.version), AffectedApps: []string{}, AffectedPods: []string{},
			CurrentActions: []currentAction{}, CurrentStep: 1, TotalSteps: 1}
		var st step
		for _, a := range d.apps {
			dj.AffectedApps = append(dj.AffectedApps, a.spec.ID)
			st.Actions = append(st.Actions, action{Action: "ScaleApplication", App: a.spec.ID})
			// The app has no readiness checks: the list is always empty.
			dj.CurrentActions = append(dj.CurrentActions, currentAction{action{Action: "ScaleApplication", App: a.spec.ID}, []any{}})
		}
		dj.Steps = []step{st}
		out = append(out, dj)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b dep) int { return strings.Compare(a.Version+a.ID, b.Version+b.ID) })
	writeJSON(w, http.StatusOK, out)
}

// serveDeleteDeployment: DELETE /v2/deployments/{id} (deployments.raml).
// Without force Marathon rolls back: a new deployment restores the
// instance count the apps had before (200 + deploymentResult). With
// force=true it only stops the deployment (202, no body).
func (c *Cluster) serveDeleteDeployment(w http.ResponseWriter, r *http.Request, id string) {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.deployments[id]
	if !ok {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("DeploymentPlan %s does not exist", id))
		return
	}
	now := c.clk.Now()
	delete(c.deployments, id)
	for _, a := range d.apps {
		a.deployment = nil
	}
	if boolQuery(r, "force") {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	before := map[*app]int{}
	for _, a := range d.apps {
		before[a] = a.spec.Instances
		if n, ok := d.before[a]; ok {
			c.scaleTo(a, n, now)
		}
	}
	nd := c.newDeployment(now, before, d.apps...)
	writeJSON(w, http.StatusOK, deploymentResult{DeploymentID: nd.id, Version: marathonTime(now)})
}

// serveAllTasks: GET /v2/tasks[?status=running|staging] (tasks.raml).
func (c *Cluster) serveAllTasks(w http.ResponseWriter, r *http.Request) {
	status := strings.ToLower(r.URL.Query().Get("status"))
	c.mu.Lock()
	out := struct {
		Tasks []taskJSON `json:"tasks"`
	}{Tasks: []taskJSON{}}
	for _, id := range c.sortedAppIDs() {
		for _, t := range c.apps[id].tasks {
			if status == "" || (status == "running") == t.running() {
				out.Tasks = append(out.Tasks, t.json())
			}
		}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// serveAppTasks: GET /v2/apps/{appId}/tasks, DELETE (kill all, ?scale).
func (c *Cluster) serveAppTasks(w http.ResponseWriter, r *http.Request, id string) {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.apps[id]
	if !ok {
		appNotFound(w, id)
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		out := struct {
			Tasks []taskJSON `json:"tasks"`
		}{Tasks: []taskJSON{}}
		for _, t := range a.tasks {
			out.Tasks = append(out.Tasks, t.json())
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	c.kill(w, r, slices.Clone(a.tasks))
}

// serveKillOne: DELETE /v2/apps/{appId}/tasks/{taskId}[?scale=true]
// (app_tasks in apps.raml): {"task":…} or, with scale, a deploymentResult.
func (c *Cluster) serveKillOne(w http.ResponseWriter, r *http.Request, appID, taskID string) {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.findTask(taskID)
	if _, ok := c.apps[appID]; !ok && t == nil {
		appNotFound(w, appID)
		return
	}
	// The task id names its app: go-marathon's KillTask derives the app
	// path from Marathon ≥ 1.8 task ids wrongly, so the path's app id is
	// not required to match.
	if t == nil {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("Task '%s' does not exist", taskID))
		return
	}
	if !boolQuery(r, "scale") {
		tj := t.json()
		c.killNoScale([]*task{t})
		writeJSON(w, http.StatusOK, map[string]taskJSON{"task": tj})
		return
	}
	c.kill(w, r, []*task{t})
}

// serveBulkKill: POST /v2/tasks/delete[?scale=true][&force=true] with
// {"ids":[…]} (tasks.raml). As Marathon's TasksResource.killTasks
// (mesosphere/marathon src/main/scala/mesosphere/marathon/api/v2/
// TasksResource.scala) it looks every id up and silently drops the ones it
// does not know, then kills the rest (TaskKiller.kill, or with scale
// TaskKiller.killAndScale) and answers 200 either way. killAndScale lowers
// an app's instances only by the tasks "active and not already killing";
// here a task is removed the moment it is killed, so every known task is
// active and not yet killing.
func (c *Cluster) serveBulkKill(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDs []string `json:"ids"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	var victims []*task
	for _, id := range body.IDs {
		if t := c.findTask(id); t != nil && !slices.Contains(victims, t) {
			victims = append(victims, t)
		}
	}
	c.kill(w, r, victims)
}

// kill kills victims; with ?scale=true the apps' instances drop by the
// number killed under one deployment (409 if an app is locked, unless
// force), else Marathon replaces them.
func (c *Cluster) kill(w http.ResponseWriter, r *http.Request, victims []*task) {
	if !boolQuery(r, "scale") {
		out := struct {
			Tasks []taskJSON `json:"tasks"`
		}{Tasks: []taskJSON{}}
		for _, t := range victims {
			out.Tasks = append(out.Tasks, t.json())
		}
		c.killNoScale(victims)
		writeJSON(w, http.StatusOK, out)
		return
	}
	var apps []*app
	for _, t := range victims {
		if !slices.Contains(apps, t.app) {
			apps = append(apps, t.app)
		}
	}
	if !boolQuery(r, "force") {
		for _, a := range apps {
			if a.deployment != nil {
				c.writeLocked(w, a.deployment)
				return
			}
		}
	}
	now := c.clk.Now()
	if len(apps) == 0 {
		// Nothing known to kill: an empty deployment plan, done at once.
		writeJSON(w, http.StatusOK, deploymentResult{DeploymentID: c.uuid(), Version: marathonTime(now)})
		return
	}
	before := map[*app]int{}
	for _, a := range apps {
		before[a] = a.spec.Instances
	}
	for _, t := range victims {
		c.removeTask(t)
		c.counters.killed++
		t.app.spec.Instances = max(t.app.spec.Instances-1, 0)
		t.app.lastScalingAt = now
	}
	for _, a := range apps {
		c.scaleTo(a, a.spec.Instances, now)
		a.lastScalingAt = now
	}
	d := c.newDeployment(now, before, apps...)
	writeJSON(w, http.StatusOK, deploymentResult{DeploymentID: d.id, Version: marathonTime(now)})
}

// killNoScale kills tasks; Marathon launches new instances in their place.
func (c *Cluster) killNoScale(victims []*task) {
	now := c.clk.Now()
	for _, t := range victims {
		c.removeTask(t)
		c.counters.killed++
		c.topUp(t.app, now)
	}
}

// serveQueue: GET /v2/queue (queue.raml, examples/queue.json): one item per
// app with instances waiting to launch, with the offer-matching summary
// that says why they do not fit.
func (c *Cluster) serveQueue(w http.ResponseWriter) {
	type reject struct {
		Reason    string `json:"reason"`
		Declined  int    `json:"declined"`
		Processed int    `json:"processed"`
	}
	type summary struct {
		ProcessedOffersCount       int      `json:"processedOffersCount"`
		UnusedOffersCount          int      `json:"unusedOffersCount"`
		LastUnusedOfferAt          string   `json:"lastUnusedOfferAt,omitempty"`
		LastUsedOfferAt            string   `json:"lastUsedOfferAt,omitempty"`
		RejectSummaryLastOffers    []reject `json:"rejectSummaryLastOffers"`
		RejectSummaryLaunchAttempt []reject `json:"rejectSummaryLaunchAttempt"`
	}
	type delay struct {
		TimeLeftSeconds int  `json:"timeLeftSeconds"`
		Overdue         bool `json:"overdue"`
	}
	type item struct {
		App                    appJSON `json:"app"`
		Count                  int     `json:"count"`
		Role                   string  `json:"role"`
		Delay                  delay   `json:"delay"`
		Since                  string  `json:"since"`
		ProcessedOffersSummary summary `json:"processedOffersSummary"`
		LastUnusedOffers       []any   `json:"lastUnusedOffers"`
	}
	c.mu.Lock()
	now := c.clk.Now()
	out := struct {
		Queue []item `json:"queue"`
	}{Queue: []item{}}
	for _, id := range c.sortedAppIDs() {
		a := c.apps[id]
		if len(a.pending) == 0 {
			continue
		}
		since, until := a.pending[0].queuedAt, a.pending[0].notBefore
		for _, p := range a.pending {
			if p.queuedAt.Before(since) {
				since = p.queuedAt
			}
			if p.notBefore.After(until) {
				until = p.notBefore
			}
		}
		left := max(0, int(until.Sub(now).Seconds()+0.999))
		s := summary{ProcessedOffersCount: a.offers.processed, UnusedOffersCount: a.offers.unused,
			LastUnusedOfferAt: marathonTime(a.offers.lastUnused), LastUsedOfferAt: marathonTime(a.offers.lastUsed),
			RejectSummaryLastOffers: []reject{}}
		if a.offers.lastProcessed != nil {
			for _, reason := range rejectReasons {
				s.RejectSummaryLastOffers = append(s.RejectSummaryLastOffers,
					reject{Reason: reason, Declined: a.offers.lastDeclined[reason], Processed: a.offers.lastProcessed[reason]})
			}
		}
		s.RejectSummaryLaunchAttempt = s.RejectSummaryLastOffers
		out.Queue = append(out.Queue, item{App: a.json(embed{}), Count: len(a.pending), Role: "*",
			Delay: delay{TimeLeftSeconds: left, Overdue: left == 0}, Since: marathonTime(since),
			ProcessedOffersSummary: s, LastUnusedOffers: []any{}})
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
