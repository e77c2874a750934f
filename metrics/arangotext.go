package metrics

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// ArangoDB metric names used for the built-in signals (checked against the
// 3.12 metrics catalogue; all exist since 3.8).
const (
	mRequests    = "arangodb_http_request_statistics_total_requests_total"
	mQueue       = "arangodb_scheduler_queue_length"
	mRequestTime = "arangodb_client_connection_statistics_request_time"
	mFreeDisk    = "rocksdb_free_disk_space"
	mTotalDisk   = "rocksdb_total_disk_space"
	mRSS         = "arangodb_process_statistics_resident_set_size"
	mPhysMem     = "arangodb_server_statistics_physical_memory"
	mUserTime    = "arangodb_process_statistics_user_time"
	mSystemTime  = "arangodb_process_statistics_system_time"
	mCPUCores    = "arangodb_server_statistics_cpu_cores"
	mShards      = "arangodb_shards_number"
)

var arangoScalars = [...]string{mRequests, mQueue, mFreeDisk, mTotalDisk, mRSS, mPhysMem, mUserTime, mSystemTime, mCPUCores, mShards}

// arangoSample is what one /_admin/metrics/v2 body says about the signals.
type arangoSample struct {
	role    string             // the role label, upper case ("COORDINATOR", …)
	values  map[string]float64 // scalar families present, summed over label sets
	hist    histogram          // request time
	histOK  bool
	histWhy string
	// suspect is the family of an unterminated last line: its value may
	// have been cut short, so it is treated as absent.
	suspect string
}

type histogram struct {
	bounds []float64 // upper bounds, ascending, last is +Inf
	cum    []float64 // cumulative counts per bound
}

// parseArangoMetrics parses a Prometheus text body and keeps the families
// the signals need.
//
// Truncation: text cut at a line boundary still parses, so a body is
// checked as follows. An empty body is an error. A body without a final
// newline may have its last line cut anywhere, even inside the value ("12"
// of "1234"), so that line is dropped and its family is treated as absent
// (its signals become missing, never a wrong number); the rest is used.
// (Real bodies may lack the final newline: the DataDog capture does.) A
// histogram without its +Inf bucket and _count line is incomplete and gives
// no latency. A family cut off entirely is simply absent. Not detected: a
// cut at a line boundary inside a family with several label sets (the
// signals' families have one per server).
func parseArangoMetrics(body []byte) (*arangoSample, error) {
	var ps textScratch
	return ps.parse(body)
}

// textScratch is the reusable state of parsing one metrics body: the
// selected lines, their original line numbers, and the tallies of the
// parse, kept between scrapes so that each one does not allocate
// them anew. One scrape at a time uses it.
type textScratch struct {
	body  bytes.Buffer // the answer read off the wire
	sel   []byte
	orig  []int
	tally textTally
}

// parse is parseArangoMetrics with the scratch state reused. The sample
// shares no memory with body or the scratch.
func (ps *textScratch) parse(body []byte) (*arangoSample, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("metrics body: empty: %w", ErrTruncated)
	}
	s := &arangoSample{values: make(map[string]float64, len(arangoScalars))}
	if body[len(body)-1] != '\n' {
		// Drop the unterminated last line and, with it, the whole of its
		// family: a sum over its label sets would be short by one.
		nl := bytes.LastIndexByte(body, '\n')
		s.suspect = familyOfLine(body[nl+1:])
		if nl < 0 {
			return nil, fmt.Errorf("metrics body: one unterminated line: %w", ErrTruncated)
		}
		body = body[:nl+1]
	}
	relevant, origLine, err := selectFamilies(body, ps.sel[:0], ps.orig[:0])
	if err != nil {
		return nil, err
	}
	ps.sel, ps.orig = relevant, origLine
	if err := ps.tally.parseSelected(relevant, origLine, s); err != nil {
		return nil, err
	}
	return s, nil
}

// normalizeRole upper-cases an ArangoDB role and spells DB servers
// "DBSERVER" whether they call themselves "DBServer" (health) or
// "PRIMARY" (ArangoDB's internal name for the role).
func normalizeRole(r string) string {
	r = strings.ToUpper(r)
	if r == "PRIMARY" {
		return "DBSERVER"
	}
	return r
}

// wanted is the set of families the signals use.
var wanted = func() map[string]bool {
	m := map[string]bool{mRequestTime: true}
	for _, n := range arangoScalars {
		m[n] = true
	}
	return m
}()

// selectFamilies returns the lines of the families the signals use (their
// samples and their # TYPE lines), and the original line number of each,
// so that a few dozen lines are parsed instead of thousands. # HELP
// lines are left out like other comments: nothing reads the help text, and
// they were a tenth of the parse's allocations on a small body. The
// other lines are not parsed; they only have to look like text-format lines
// (blank, a comment, or a sample starting with a metric name and having a
// value), so that an HTML or JSON page is still an error and not "no data".
//
// The lines are appended to out and their numbers to orig (both may be
// reused buffers, passed with length 0).
func selectFamilies(body, out []byte, orig []int) ([]byte, []int, error) {
	sawSample := false
	for n, rest := 1, body; len(rest) > 0; n++ {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		t := trimBlank(line)
		var fam []byte
		switch {
		case len(t) == 0 || t[0] == '\n' || t[0] == '\r':
			continue
		case t[0] == '#':
			c := trimBlank(t[1:])
			if !bytes.HasPrefix(c, []byte("TYPE ")) {
				continue
			}
			c = trimBlank(c[5:])
			for i, b := range c {
				if b == ' ' || b == '\t' || b == '\r' || b == '\n' {
					c = c[:i]
					break
				}
			}
			fam = c
		default:
			// The name ends at the first of "{} \t"; a sample line has a
			// blank or "}" somewhere (bytes.IndexAny/ContainsAny, by hand:
			// this runs for every line of every scrape).
			end := -1
			for i, b := range t {
				if b == '{' || b == '}' || b == ' ' || b == '\t' {
					end = i
					break
				}
			}
			ok := end >= 0 && t[end] != '{'
			for i := end + 1; !ok && end >= 0 && i < len(t); i++ {
				ok = t[i] == ' ' || t[i] == '\t' || t[i] == '}'
			}
			if !isNameStart(t[0]) || !ok {
				return nil, nil, fmt.Errorf("metrics body line %d: %w: not a sample line: %q", n, ErrBadBody, clip(t, 60))
			}
			sawSample = true
			fam = t[:end]
			if base, ok := bytes.CutSuffix(fam, []byte("_bucket")); ok && string(base) == mRequestTime {
				fam = base
			} else if base, ok := bytes.CutSuffix(fam, []byte("_count")); ok && string(base) == mRequestTime {
				fam = base
			} else if base, ok := bytes.CutSuffix(fam, []byte("_sum")); ok && string(base) == mRequestTime {
				fam = base
			}
		}
		if !wanted[string(fam)] {
			continue
		}
		out = append(out, line...)
		orig = append(orig, n)
	}
	if !sawSample {
		return nil, nil, fmt.Errorf("metrics body: %w: no samples", ErrBadBody)
	}
	return out, orig, nil
}

// trimBlank is bytes.TrimLeft(b, " \t").
func trimBlank(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func isNameStart(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == ':'
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return bytes.TrimRight(b, "\r\n")
}

// familyOfLine returns the metric family a text-format line belongs to (a
// sample's name without histogram/summary suffixes), or "" for comments.
func familyOfLine(line []byte) string {
	line = bytes.TrimLeft(line, " \t")
	if len(line) == 0 || line[0] == '#' {
		return ""
	}
	end := bytes.IndexAny(line, "{ \t")
	if end < 0 {
		end = len(line)
	}
	name := string(line[:end])
	for _, suf := range [...]string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suf); ok && base == mRequestTime {
			return base
		}
	}
	return name
}

// deltaQuantile returns the q quantile of the observations between two cumulative
// histograms, interpolating linearly inside the bucket as Prometheus'
// histogram_quantile does; in the +Inf bucket it answers the largest finite
// bound.
func deltaQuantile(q float64, prev, cur histogram) (float64, bool, string) {
	if len(prev.bounds) != len(cur.bounds) {
		return 0, false, "histogram buckets changed between scrapes"
	}
	n := len(cur.bounds)
	delta := make([]float64, n)
	for i := range cur.bounds {
		if prev.bounds[i] != cur.bounds[i] {
			return 0, false, "histogram buckets changed between scrapes"
		}
		d := cur.cum[i] - prev.cum[i]
		if d < 0 {
			return 0, false, reasonCounterReset
		}
		delta[i] = d
	}
	total := delta[n-1]
	if total <= 0 {
		return 0, false, "no requests in the interval"
	}
	rank := q * total
	for i := range delta {
		if delta[i] < rank {
			continue
		}
		if math.IsInf(cur.bounds[i], 1) {
			if i == 0 {
				return 0, false, "all requests in the +Inf bucket"
			}
			return cur.bounds[i-1], true, ""
		}
		lo, below := 0.0, 0.0
		if i > 0 {
			lo, below = cur.bounds[i-1], delta[i-1]
		}
		inBucket := delta[i] - below
		if inBucket <= 0 {
			return cur.bounds[i], true, ""
		}
		return lo + (cur.bounds[i]-lo)*(rank-below)/inBucket, true, ""
	}
	return 0, false, "quantile not found"
}
