package arangodb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	driver "github.com/arangodb/go-driver/v2/arangodb"
)

// Agency job states, as in Job.Status.
const (
	JobToDo     = "ToDo"
	JobPending  = "Pending"
	JobFinished = "Finished"
	JobFailed   = "Failed"
)

// JobTypeCleanOutServer is the agency job type cleanOutServer creates.
const JobTypeCleanOutServer = "cleanOutServer"

// Job is one supervision job of the agency.
type Job struct {
	ID     string
	Type   string // e.g. "cleanOutServer", "moveShard"
	Server string // the server a cleanOutServer job empties
	Status string // JobToDo, JobPending, JobFinished or JobFailed
	Reason string // why a job failed, when ArangoDB says
	// Created is the job's timeCreated; zero when ArangoDB gave none.
	Created time.Time
}

// Done reports whether the job reached a final state.
func (j Job) Done() bool { return j.Status == JobFinished || j.Status == JobFailed }

// CleanOutServer asks the supervision to move every shard off a DB server
// (POST /_admin/cluster/cleanOutServer) and returns the agency job ID.
func (c *Client) CleanOutServer(ctx context.Context, serverID string) (jobID string, err error) {
	const op = "POST /_admin/cluster/cleanOutServer"
	if serverID == "" {
		return "", fmt.Errorf("arangodb: %s: empty server ID", op)
	}
	err = c.do(ctx, op, func(ctx context.Context) error {
		var err error
		jobID, err = c.drv.CleanOutServer(ctx, driver.ServerID(serverID))
		return err
	})
	if err != nil {
		return "", err
	}
	if jobID == "" {
		return "", badResponse(op, "no job id in the answer")
	}
	return jobID, nil
}

// agencyJob is a job as the agency stores it, and as queryAgencyJob
// returns it (nested under "job" before 3.7, flat since).
type agencyJob struct {
	Type        string `json:"type"`
	Server      string `json:"server"`
	JobID       string `json:"jobId"`
	TimeCreated string `json:"timeCreated"`
	Reason      string `json:"reason"`
}

func (a agencyJob) toJob(id, status string) Job {
	j := Job{ID: a.JobID, Type: a.Type, Server: a.Server, Status: status, Reason: a.Reason}
	if j.ID == "" {
		j.ID = id
	}
	if t, err := time.Parse(time.RFC3339Nano, a.TimeCreated); err == nil {
		j.Created = t.UTC()
	}
	return j
}

// Job reads one agency job (GET /_admin/cluster/queryAgencyJob?id=…).
// An unknown ID is ErrNotFound.
func (c *Client) Job(ctx context.Context, jobID string) (Job, error) {
	const op = "GET /_admin/cluster/queryAgencyJob"
	if jobID == "" {
		return Job{}, fmt.Errorf("arangodb: %s: empty job ID", op)
	}
	var body json.RawMessage
	if err := c.call(ctx, http.MethodGet, "_admin/cluster/queryAgencyJob", nil, &body, "id", jobID); err != nil {
		return Job{}, err
	}
	return parseJob(op, jobID, body)
}

// parseJob reads a queryAgencyJob answer.
func parseJob(op, jobID string, body []byte) (Job, error) {
	var r map[string]json.RawMessage
	if err := json.Unmarshal(body, &r); err != nil {
		return Job{}, badResponse(op, "job %s: %v", jobID, err)
	}
	var status string
	if err := json.Unmarshal(r["status"], &status); err != nil || status == "" {
		return Job{}, badResponse(op, "job %s: no status", jobID)
	}
	switch status {
	case JobToDo, JobPending, JobFinished, JobFailed:
	default:
		return Job{}, badResponse(op, "job %s: unknown status %q", jobID, status)
	}
	var aj agencyJob
	if nested := r["job"]; len(nested) > 0 && nested[0] == '{' {
		if err := json.Unmarshal(nested, &aj); err != nil {
			return Job{}, badResponse(op, "job %s: %v", jobID, err)
		}
	} else if err := json.Unmarshal(body, &aj); err != nil {
		return Job{}, badResponse(op, "job %s: %v", jobID, err)
	}
	return aj.toJob(jobID, status), nil
}

// agencyJobStates are the job queues CleanOutJobs reads.
var agencyJobStates = [...]string{JobToDo, JobPending, JobFinished, JobFailed}

// CleanOutJobs returns every cleanOutServer job the agency knows, in any
// state, oldest first, read with POST /_api/agency/read. The controller
// finds a scale-down saga it crashed in from this, without remembering
// job IDs. Needs a superuser (JWT) or an admin user the agency API admits.
func (c *Client) CleanOutJobs(ctx context.Context) ([]Job, error) {
	const op = "POST /_api/agency/read"
	paths := make([]string, 0, len(agencyJobStates))
	for _, s := range agencyJobStates {
		paths = append(paths, "/arango/Target/"+s)
	}
	var body json.RawMessage
	if err := c.call(ctx, http.MethodPost, "_api/agency/read", [][]string{paths}, &body); err != nil {
		return nil, err
	}
	return parseAgencyJobs(op, body)
}

// parseAgencyJobs reads the cleanOutServer jobs out of an agency read of
// the four Target job queues.
func parseAgencyJobs(op string, body []byte) ([]Job, error) {
	var r []struct {
		Arango struct {
			Target map[string]map[string]json.RawMessage `json:"Target"`
		} `json:"arango"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, badResponse(op, "%v", err)
	}
	if len(r) != 1 {
		return nil, badResponse(op, "expected one result, got %d", len(r))
	}
	var jobs []Job
	for _, state := range agencyJobStates {
		for id, raw := range r[0].Arango.Target[state] {
			var aj agencyJob
			if err := json.Unmarshal(raw, &aj); err != nil {
				// Target/ToDo etc. only hold job objects; anything else is
				// not a job we could act on.
				continue
			}
			j := aj.toJob(id, state)
			if j.Type != JobTypeCleanOutServer || j.ID == "" {
				continue
			}
			jobs = append(jobs, j)
		}
	}
	sort.Slice(jobs, func(i, j int) bool {
		if !jobs[i].Created.Equal(jobs[j].Created) {
			return jobs[i].Created.Before(jobs[j].Created)
		}
		return jobs[i].ID < jobs[j].ID
	})
	return jobs, nil
}

// RemoveServer removes a gone server from the cluster's lists
// (POST /_admin/cluster/removeServer). ArangoDB only allows it for a
// FAILED server that is responsible for no shard; otherwise the answer is
// ErrPrecondition. Because ArangoDB itself retries a refused removal for up
// to a minute before answering 412, the health list is checked first and a
// server that cannot be removed yet is refused here at once, with
// ErrPrecondition. A server not in the health list is ErrNotFound (already
// removed).
func (c *Client) RemoveServer(ctx context.Context, serverID string) error {
	const op = "POST /_admin/cluster/removeServer"
	if serverID == "" {
		return fmt.Errorf("arangodb: %s: empty server ID", op)
	}
	servers, err := c.Health(ctx)
	if err != nil {
		return err
	}
	var found *ServerHealth
	for i := range servers {
		if servers[i].ID == serverID {
			found = &servers[i]
			break
		}
	}
	switch {
	case found == nil:
		return fmt.Errorf("%w: %s: server %s is not in the health list", ErrNotFound, op, serverID)
	case found.Status != StatusFailed:
		return fmt.Errorf("%w: %s: server %s is %s, not FAILED", ErrPrecondition, op, serverID, found.Status)
	case found.Role == RoleDBServer && !found.CanBeDeleted:
		return fmt.Errorf("%w: %s: server %s still holds shards", ErrPrecondition, op, serverID)
	}
	return c.do(ctx, op, func(ctx context.Context) error {
		return c.drv.RemoveServer(ctx, driver.ServerID(serverID))
	})
}
