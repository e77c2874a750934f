package arangodb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

// agencyJob is a job as queryAgencyJob returns it (nested under "job"
// before 3.7, flat since).
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
// An unknown ID is ErrNotFound: never created, or pruned by the
// supervision after it ended. This is the only way a coordinator tells a
// job's state; it has no /_api/agency (see the package doc).
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
