package marathon

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// App is the state of one Marathon app.
type App struct {
	ID                                                      string
	Instances                                               int // the target count
	TasksRunning, TasksHealthy, TasksStaged, TasksUnhealthy int
	CPUs, Mem, Disk                                         float64 // per instance
	Labels                                                  map[string]string
	Deployments                                             []string // ids of deployments touching the app
	Tasks                                                   []Task
	// LastScalingAt is versionInfo.lastScalingAt, zero if unknown. It
	// survives a controller restart, so cooldowns are computed from it.
	LastScalingAt time.Time
	Version       string
}

// Task is one task (instance) of an app.
type Task struct {
	ID, AppID, AgentID, Host string
	Ports                    []int
	// State is Mesos' task state (TASK_RUNNING, TASK_STAGING, …). Marathon
	// before 1.x sends none; then it is TASK_RUNNING once startedAt is
	// set, else TASK_STAGING.
	State     string
	StartedAt time.Time // zero if not started
	// Healthy: running, and every health check result alive (at least
	// one), or running and the app has no health checks.
	Healthy bool
}

// Deployment is a running Marathon deployment.
type Deployment struct {
	ID                      string
	AffectedApps            []string
	CurrentStep, TotalSteps int
	Version                 string
}

// QueueItem is an app with instances waiting in Marathon's launch queue.
type QueueItem struct {
	AppID   string // the app id, or the pod id for pods
	Count   int    // instances still to launch
	Overdue bool   // the launch delay has passed: it waits for offers only
	Since   time.Time
	// Reasons offers were declined, most declines first, e.g.
	// "InsufficientCpus" (from processedOffersSummary.rejectSummaryLastOffers,
	// else lastUnusedOffers). Empty on Marathon versions that do not say.
	Reasons []string
}

const stateRunning = "TASK_RUNNING"

type wireApp struct {
	ID             string                `json:"id"`
	Instances      int                   `json:"instances"`
	CPUs           float64               `json:"cpus"`
	Mem            float64               `json:"mem"`
	Disk           float64               `json:"disk"`
	Labels         map[string]string     `json:"labels"`
	HealthChecks   []json.RawMessage     `json:"healthChecks"`
	Deployments    []struct{ ID string } `json:"deployments"`
	Tasks          []wireTask            `json:"tasks"`
	TasksRunning   int                   `json:"tasksRunning"`
	TasksHealthy   int                   `json:"tasksHealthy"`
	TasksStaged    int                   `json:"tasksStaged"`
	TasksUnhealthy int                   `json:"tasksUnhealthy"`
	Version        string                `json:"version"`
	VersionInfo    *struct {
		LastScalingAt string `json:"lastScalingAt"`
	} `json:"versionInfo"`
}

type wireTask struct {
	ID    string `json:"id"`
	AppID string `json:"appId"`
	// The Mesos agent id: Marathon writes it as slaveId only
	// (TaskConversion, v2/types/task.raml).
	SlaveID            string `json:"slaveId"`
	Host               string `json:"host"`
	Ports              []int  `json:"ports"`
	State              string `json:"state"`
	StartedAt          string `json:"startedAt"`
	HealthCheckResults []*struct {
		Alive bool `json:"alive"`
	} `json:"healthCheckResults"`
}

// decodeApp decodes the body of GET /v2/apps/{id}: {"app": {…}}. Only the
// fields arangoscale uses are decoded, so unrelated parts of the app
// definition (env secrets, networks, …) cannot make it fail.
func decodeApp(body []byte) (*App, error) {
	var w struct {
		App *wireApp `json:"app"`
	}
	if err := strictTop(body, &w); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	if w.App == nil {
		return nil, errors.New(`app: no "app" object`)
	}
	return convertApp(w.App)
}

// decodeApps decodes the body of GET /v2/apps: {"apps": […]}.
func decodeApps(body []byte) ([]*App, error) {
	var w struct {
		Apps *[]*wireApp `json:"apps"`
	}
	if err := strictTop(body, &w); err != nil {
		return nil, fmt.Errorf("apps: %w", err)
	}
	if w.Apps == nil {
		return nil, errors.New(`apps: no "apps" list`)
	}
	out := make([]*App, 0, len(*w.Apps))
	for i, wa := range *w.Apps {
		if wa == nil {
			return nil, fmt.Errorf("apps[%d]: null", i)
		}
		a, err := convertApp(wa)
		if err != nil {
			return nil, fmt.Errorf("apps[%d]: %w", i, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func convertApp(a *wireApp) (*App, error) {
	if a.ID == "" {
		return nil, errors.New("app: empty id")
	}
	out := &App{
		ID: a.ID, Instances: a.Instances,
		TasksRunning: a.TasksRunning, TasksHealthy: a.TasksHealthy, TasksStaged: a.TasksStaged, TasksUnhealthy: a.TasksUnhealthy,
		CPUs: a.CPUs, Mem: a.Mem, Disk: a.Disk,
		Labels:  a.Labels,
		Version: a.Version,
	}
	if a.Instances < 0 {
		return nil, fmt.Errorf("app %s: instances %d is negative", a.ID, a.Instances)
	}
	if a.VersionInfo != nil {
		t, err := parseTime(a.VersionInfo.LastScalingAt)
		if err != nil {
			return nil, fmt.Errorf("app %s: versionInfo.lastScalingAt: %w", a.ID, err)
		}
		out.LastScalingAt = t
	}
	for _, d := range a.Deployments {
		if d.ID != "" {
			out.Deployments = append(out.Deployments, d.ID)
		}
	}
	out.Tasks = make([]Task, 0, len(a.Tasks))
	for i, wt := range a.Tasks {
		t, err := decodeTask(wt, len(a.HealthChecks) > 0)
		if err != nil {
			return nil, fmt.Errorf("app %s: tasks[%d]: %w", a.ID, i, err)
		}
		out.Tasks = append(out.Tasks, t)
	}
	return out, nil
}

func decodeTask(w wireTask, hasChecks bool) (Task, error) {
	if w.ID == "" {
		return Task{}, errors.New("empty id")
	}
	started, err := parseTime(w.StartedAt)
	if err != nil {
		return Task{}, fmt.Errorf("task %s: startedAt: %w", w.ID, err)
	}
	t := Task{ID: w.ID, AppID: w.AppID, AgentID: w.SlaveID, Host: w.Host, Ports: w.Ports, State: w.State, StartedAt: started}
	if t.State == "" {
		t.State = "TASK_STAGING"
		if !started.IsZero() {
			t.State = stateRunning
		}
	}
	if t.State == stateRunning {
		t.Healthy = !hasChecks
		if hasChecks && len(w.HealthCheckResults) > 0 {
			t.Healthy = true
			for _, r := range w.HealthCheckResults {
				if r == nil || !r.Alive {
					t.Healthy = false
				}
			}
		}
	}
	return t, nil
}

type wireQueue struct {
	Queue []struct {
		App   *struct{ ID string } `json:"app"`
		Pod   *struct{ ID string } `json:"pod"`
		Count int                  `json:"count"`
		Delay struct {
			Overdue bool `json:"overdue"`
		} `json:"delay"`
		Since                  string `json:"since"`
		ProcessedOffersSummary *struct {
			RejectSummaryLastOffers []struct {
				Reason   string `json:"reason"`
				Declined int    `json:"declined"`
			} `json:"rejectSummaryLastOffers"`
		} `json:"processedOffersSummary"`
		LastUnusedOffers []struct {
			Reason []string `json:"reason"`
		} `json:"lastUnusedOffers"`
	} `json:"queue"`
}

// decodeQueue decodes the body of GET /v2/queue.
func decodeQueue(body []byte) ([]QueueItem, error) {
	var w wireQueue
	if err := strictTop(body, &w); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	out := make([]QueueItem, 0, len(w.Queue))
	for i, q := range w.Queue {
		var id string
		switch {
		case q.App != nil:
			id = q.App.ID
		case q.Pod != nil:
			id = q.Pod.ID
		}
		if id == "" {
			return nil, fmt.Errorf("queue[%d]: no app or pod id", i)
		}
		since, err := parseTime(q.Since)
		if err != nil {
			return nil, fmt.Errorf("queue[%d] (%s): since: %w", i, id, err)
		}
		item := QueueItem{AppID: id, Count: q.Count, Overdue: q.Delay.Overdue, Since: since}
		type declined struct {
			reason string
			n      int
		}
		var ds []declined
		idx := map[string]int{}
		add := func(reason string, n int) {
			if reason == "" || n <= 0 {
				return
			}
			if j, ok := idx[reason]; ok {
				ds[j].n += n
				return
			}
			idx[reason] = len(ds)
			ds = append(ds, declined{reason, n})
		}
		if s := q.ProcessedOffersSummary; s != nil {
			for _, r := range s.RejectSummaryLastOffers {
				add(r.Reason, r.Declined)
			}
		}
		if len(ds) == 0 {
			// No summary (or nothing declined in it): count the reasons
			// of each recently unused offer.
			for _, o := range q.LastUnusedOffers {
				for _, r := range o.Reason {
					add(r, 1)
				}
			}
		}
		sort.SliceStable(ds, func(a, b int) bool { return ds[a].n > ds[b].n })
		for _, d := range ds {
			item.Reasons = append(item.Reasons, d.reason)
		}
		out = append(out, item)
	}
	return out, nil
}

// decodeOptions make go-json-experiment/json (the encoding/json/v2
// design, about twice as fast at decoding Marathon's app bodies as
// encoding/json) accept what encoding/json did: names matched regardless
// of case, a repeated name's last value, invalid UTF-8 replaced.
var decodeOptions = jsonv2.JoinOptions(jsonv2.MatchCaseInsensitiveNames(true),
	jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// strictTop decodes a single JSON value and refuses trailing data; errors
// name the byte offset (and the field) so a bad body can be found.
func strictTop(body []byte, v any) error {
	err := jsonv2.Unmarshal(body, v, decodeOptions)
	if err == nil {
		return nil
	}
	var sy *jsontext.SyntacticError
	var se *jsonv2.SemanticError
	switch {
	case errors.As(err, &sy):
		return fmt.Errorf("invalid JSON at byte %d: %w", sy.ByteOffset, err)
	case errors.As(err, &se):
		return fmt.Errorf("field %q at byte %d: %w", dotted(se.JSONPointer), se.ByteOffset, err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// dotted spells a JSON pointer ("/app/tasks/0/host") as a field path
// ("app.tasks.0.host").
func dotted(p jsontext.Pointer) string {
	return strings.Join(slices.Collect(p.Tokens()), ".")
}

// parseTime parses Marathon's ISO-8601 timestamps; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	return t, nil
}
