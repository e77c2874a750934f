//go:build race

package chaos

// raceSeeds keeps the seed sweep of `go test -race` short: the race
// detector makes each run several times slower.
const raceSeeds = 3
