//go:build noplot

package simulate

import "io"

// Plots says whether this build draws PNG plots. Built with -tags noplot
// (the container image), the binary leaves out gonum/plot: its package
// initialisation parses twelve embedded fonts, ~4 MiB resident in every
// command, `run` included, that only simulate's plots use.
const Plots = false

// WritePNG is not available in this build.
func WritePNG(io.Writer, *Report, string) error { return ErrNoPlots }

// WriteSweepPNG is not available in this build.
func WriteSweepPNG(io.Writer, *SweepReport, string) error { return ErrNoPlots }
