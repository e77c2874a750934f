package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/arangoscale/arangoscale/arangodb"
)

// ErrStandby is returned instead of a change when this process may not act
// on a cluster: another replica owns it, or the coordination session is
// not live. It is not a failure of Marathon or ArangoDB: the worker neither
// backs off nor counts a source error.
var ErrStandby = errors.New("standby: this replica does not own the cluster")

// Fence says whether this process may change a cluster now. With several
// replicas (package ha) only the owner of a cluster, while its session is
// live, may; without one (Config.Fence nil) the process always may.
type Fence interface {
	// Enter is called right before every mutating call. It returns an error
	// wrapping ErrStandby when the process may not act; otherwise leave
	// must be called when the call returned, so ownership is handed over
	// only once no change of this process is in flight.
	Enter(cluster string) (leave func(), err error)
	// MayAct is the same check without entering, for a whole reconcile.
	MayAct(cluster string) error
}

// FenceHealth is implemented by a Fence that can be unable to let anything
// act (its coordination service unreachable); /readyz then says why.
type FenceHealth interface {
	Healthy() error
}

func enter(f Fence, cluster string) (func(), error) {
	leave, err := f.Enter(cluster)
	if err != nil {
		if !errors.Is(err, ErrStandby) {
			err = fmt.Errorf("%w: %w", ErrStandby, err)
		}
		return nil, err
	}
	return leave, nil
}

// fencedMarathon checks the fence before Marathon's mutating calls.
type fencedMarathon struct {
	Marathon
	fence   Fence
	cluster string
}

func (m fencedMarathon) Scale(ctx context.Context, id string, instances int, force bool) (string, error) {
	leave, err := enter(m.fence, m.cluster)
	if err != nil {
		return "", err
	}
	defer leave()
	return m.Marathon.Scale(ctx, id, instances, force)
}

func (m fencedMarathon) KillTasks(ctx context.Context, taskIDs []string, scale bool) error {
	leave, err := enter(m.fence, m.cluster)
	if err != nil {
		return err
	}
	defer leave()
	return m.Marathon.KillTasks(ctx, taskIDs, scale)
}

// fencedArangoDB checks the fence before the admin API's mutating calls.
type fencedArangoDB struct {
	ArangoDB
	fence   Fence
	cluster string
}

func (a fencedArangoDB) SetNumberOfServers(ctx context.Context, coordinators, dbservers *int) error {
	leave, err := enter(a.fence, a.cluster)
	if err != nil {
		return err
	}
	defer leave()
	return a.ArangoDB.SetNumberOfServers(ctx, coordinators, dbservers)
}

func (a fencedArangoDB) CleanOutServer(ctx context.Context, serverID string) (string, error) {
	leave, err := enter(a.fence, a.cluster)
	if err != nil {
		return "", err
	}
	defer leave()
	return a.ArangoDB.CleanOutServer(ctx, serverID)
}

func (a fencedArangoDB) RemoveServer(ctx context.Context, serverID string) error {
	leave, err := enter(a.fence, a.cluster)
	if err != nil {
		return err
	}
	defer leave()
	return a.ArangoDB.RemoveServer(ctx, serverID)
}

func (a fencedArangoDB) StartRebalance(ctx context.Context) (int, error) {
	leave, err := enter(a.fence, a.cluster)
	if err != nil {
		return 0, err
	}
	defer leave()
	return a.ArangoDB.StartRebalance(ctx)
}

// fencedHolds checks the fence before a hold is written or deleted: the
// owner turns a web UI count into a hold, a standby only reads.
type fencedHolds struct {
	HoldStore
	fence   Fence
	cluster string
}

func (h fencedHolds) PutHold(ctx context.Context, hold arangodb.Hold) (arangodb.Hold, error) {
	leave, err := enter(h.fence, h.cluster)
	if err != nil {
		return arangodb.Hold{}, err
	}
	defer leave()
	return h.HoldStore.PutHold(ctx, hold)
}

func (h fencedHolds) DeleteHold(ctx context.Context, role, rev string) error {
	leave, err := enter(h.fence, h.cluster)
	if err != nil {
		return err
	}
	defer leave()
	return h.HoldStore.DeleteHold(ctx, role, rev)
}
