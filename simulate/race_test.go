//go:build race

package simulate

// underRace keeps `go test -race` of this package within its timeout: the
// race detector makes every replayed reconcile several times slower, and the
// long replays are run without it by `go test ./...`.
const underRace = true
