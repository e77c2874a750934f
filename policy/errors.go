package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// errCronTZ rejects a time zone prefix inside a cron expression: the zone
// belongs in the entry's time_zone key so it is validated and visible.
var errCronTZ = errors.New("put the time zone in time_zone, not in the cron expression")

// errCronEvery rejects "@every": it has no fixed firing times to start a
// floor from.
var errCronEvery = errors.New("@every has no fixed firing times: use a cron expression such as \"0 8 * * 1-5\"")

// PosError is one problem in a policy file, at a 1-based line and column.
type PosError struct {
	File      string
	Line, Col int
	Msg       string
}

// Error returns "file:line:col: msg".
func (e PosError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a policy file, in file order. Load
// returns it (as *Errors) so callers can show all mistakes at once.
type Errors struct {
	List []PosError
}

// Error returns one "file:line:col: msg" line per problem.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, pe := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(pe.Error())
	}
	return b.String()
}

func (e *Errors) sort() {
	slices.SortStableFunc(e.List, func(a, b PosError) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Col, b.Col)
	})
}
