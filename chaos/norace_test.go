//go:build !race

package chaos

const raceSeeds = 0
