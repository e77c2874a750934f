package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/arangoscale/arangoscale/policy"
)

// cmdValidate checks policy files: exit 0 with a summary line per cluster,
// or exit 1 with every error as file:line:col: message.
func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	print := fs.Bool("print", false, "print the effective policy (defaults filled in) as YAML")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arangoscale validate [--print] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, path := range fs.Args() {
		cfg, err := policy.LoadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
			continue
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
