package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/arangoscale/arangoscale/controller"

	"github.com/arangoscale/arangoscale/policy"
)

// cmdValidate checks policy files: exit 0 with a summary line per cluster,
// or exit 1 with every error as file:line:col: message.
func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	print := fs.Bool("print", false, "print the effective policy (defaults filled in) as YAML")
	online := fs.Bool("online", false, "also check against the live systems (ARANGOSCALE_* environment as for run): apps exist, endpoints answer, credentials work, metrics have data")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arangoscale validate [--print] [--online] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var setup *controller.Setup
	if *online {
		_, _, s, err := fromEnv(stderr)
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale: %v\n", err)
			return 2
		}
		setup = s
	}
	code := 0
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "policy: %v\n", err)
			code = 1
			continue
		}
		cfg, err := policy.Load(path, data)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
			continue
		}
		if setup != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			// A rate needs two reads of the counters some seconds apart.
			wait := func(ctx context.Context) error {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(5 * time.Second):
					return nil
				}
			}
			problems, ok := validateOnline(ctx, setup, path, data, cfg, wait)
			cancel()
			for _, p := range problems {
				fmt.Fprintln(stderr, p)
			}
			if len(problems) > 0 {
				code = 1
				continue
			}
			for _, l := range ok {
				fmt.Fprintf(stdout, "%s: online: %s\n", path, l)
			}
		}
		if *print {
			out, err := cfg.Effective()
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", path, err)
				code = 1
				continue
			}
			if fs.NArg() > 1 {
				fmt.Fprintf(stdout, "# %s\n", path)
			}
			_, _ = stdout.Write(out)
			continue
		}
		for _, line := range cfg.Summary() {
			fmt.Fprintf(stdout, "%s: %s\n", path, line)
		}
	}
	return code
}
