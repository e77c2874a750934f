package main

import (
	"fmt"
	"io"
)

// Commands that are wired up as their packages land.
func notYet(name string) func([]string, io.Writer, io.Writer) int {
	return func(_ []string, _, stderr io.Writer) int {
		fmt.Fprintf(stderr, "arangoscale %s: not available in this build yet\n", name)
		return 1
	}
}

var (
	cmdSimulate = notYet("simulate")
)
