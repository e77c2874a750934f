package sim

import (
	"math"
	"time"
)

// LoadFunc gives the requests per second offered to a cluster at elapsed
// time since the world started.
type LoadFunc func(elapsed time.Duration) float64

// Constant offers rps all the time.
func Constant(rps float64) LoadFunc { return func(time.Duration) float64 { return rps } }

// Steps offers base, then each step's rps from its start on (steps sorted
// by At).
func Steps(base float64, steps ...LoadStep) LoadFunc {
	return func(e time.Duration) float64 {
		v := base
		for _, s := range steps {
			if e >= s.At {
				v = s.RPS
			}
		}
		return v
	}
}

// LoadStep is one change of a Steps load.
type LoadStep struct {
	At  time.Duration
	RPS float64
}

// roleLoad is the model's result for the servers of one role.
type roleLoad struct {
	util         float64 // demand / capacity (may exceed 1)
	cpu          float64 // cpu fraction of each server (≤ 1)
	rpsPerServer float64 // requests each server handles
	latency      float64 // mean seconds spent at this role
	queue        float64 // requests waiting per server (Little's law)
	memFraction  float64 // RSS / memory limit
}

type modelResult struct {
	coord, db   roleLoad
	served      float64
	meanLatency float64 // end to end, mean
	p95         float64 // end to end
	overloaded  bool
}

// ln20 turns an exponential response time's mean into its 95th percentile
// (M/M/1: P(T > t) = e^(-t/mean)).
var ln20 = math.Log(20)

// model is the load model. Offered load is split evenly over the healthy
// coordinators; each serves up to CoordinatorRPS at 100 % cpu. Every
// request also costs the DB servers: their utilisation is
// offered / (DBServerRPS × healthy DB servers). A role with utilisation u
// answers in BaseLatency/(1-u), capped at MaxLatency (at u ≥ 1 requests
// queue until they time out). With no healthy coordinator every request is
// dropped. The cluster is overloaded when any role's utilisation exceeds 1
// or requests are dropped.
func model(p Params, offered float64, coords, dbs int) modelResult {
	var r modelResult
	base, maxLat := p.BaseLatency.Seconds(), p.MaxLatency.Seconds()
	lat := func(u float64) float64 {
		if u >= 1 {
			return maxLat
		}
		return min(base/(1-u), maxLat)
	}
	fill := func(l *roleLoad, rps float64, n int, capacity float64, memBase float64) {
		l.memFraction = memBase
		if n == 0 {
			l.latency = maxLat
			return
		}
		l.util = rps / (capacity * float64(n))
		l.rpsPerServer = min(rps/float64(n), capacity)
		l.cpu = p.IdleCPU + (1-p.IdleCPU)*min(l.util, 1)
		l.latency = lat(l.util)
		l.queue = max(0, l.rpsPerServer*(l.latency-base))
		l.memFraction = memBase + 0.3*min(l.util, 1)
	}
	if coords == 0 {
		fill(&r.coord, 0, 0, p.CoordinatorRPS, 0.25)
		fill(&r.db, 0, dbs, p.DBServerRPS, 0.4)
		r.overloaded = offered > 0
		r.meanLatency, r.p95 = maxLat, maxLat
		return r
	}
	fill(&r.coord, offered, coords, p.CoordinatorRPS, 0.25)
	r.served = min(offered, p.CoordinatorRPS*float64(coords))
	// DB servers see the offered load, not only what the coordinators
	// manage: overloaded coordinators still forward (and retry) requests.
	fill(&r.db, offered, dbs, p.DBServerRPS, 0.4)
	if dbs == 0 {
		r.overloaded = offered > 0
	}
	r.meanLatency = min(r.coord.latency+r.db.latency, maxLat)
	r.p95 = min(ln20*r.meanLatency, maxLat)
	r.overloaded = r.overloaded || r.coord.util > 1 || r.db.util > 1
	return r
}
