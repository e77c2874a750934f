// Command arangoscale is the autoscaling controller for ArangoDB clusters on
// DC/OS. main only dispatches subcommands; each lives in its own file.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "unknown"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run the controller (the default)", cmdRun},
		{"demo", "run the controller against an emulated DC/OS + ArangoDB cluster", cmdDemo},
		{"validate", "check policy files (--print: the effective policy; --online: against the live systems)", cmdValidate},
		{"simulate", "replay load traces against a policy and baselines", cmdSimulate},
		{"scale", "hold a role at a count for the running controller (--release ends it)", cmdScale},
		{"emulate", "serve an emulated DC/OS + ArangoDB (--auth, --base-port, --clusters) to rehearse on", cmdEmulate},
		{"version", "print version, commit and Go version", cmdVersion},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return cmdRun(nil, stdout, stderr)
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "arangoscale: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: arangoscale <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
}

func cmdVersion(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "arangoscale %s (commit %s, %s)\n", version, commit, runtime.Version())
	return 0
}
