package ha

import (
	"hash/fnv"
	"sort"
)

// Owner is the member a cluster goes to: the highest rendezvous score of
// cluster and member name ("" without members). Every replica computes the
// same answer from the same membership.
func Owner(cluster string, members []string) string {
	best, bestScore := "", uint64(0)
	for _, m := range members {
		s := score(cluster, m)
		if best == "" || s > bestScore || (s == bestScore && m < best) {
			best, bestScore = m, s
		}
	}
	return best
}

func score(cluster, member string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(cluster))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(member))
	// FNV alone spreads similar names badly; the splitmix64 finaliser mixes
	// every input bit into every output bit.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Plan is what one member should do with its locks: take the clusters it
// is the owner of and does not hold, release the ones it holds but is not
// the owner of (or that left the policy).
type Plan struct {
	Take, Release []string
}

// Diff plans the lock changes of member self for clusters over members,
// given the clusters it holds now.
func Diff(self string, clusters, members []string, held map[string]bool) Plan {
	var p Plan
	want := map[string]bool{}
	for _, c := range clusters {
		if Owner(c, members) == self {
			want[c] = true
			if !held[c] {
				p.Take = append(p.Take, c)
			}
		}
	}
	for c, h := range held {
		if h && !want[c] {
			p.Release = append(p.Release, c)
		}
	}
	sort.Strings(p.Take)
	sort.Strings(p.Release)
	return p
}
