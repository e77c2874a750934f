package metrics

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// fastSample reads the selected lines of a metrics body directly when they
// are in the plain form arangod prints (# HELP/# TYPE lines, samples
// `name{k="v",…} value` without escapes or timestamps), and fills s as
// the expfmt path would. It reports false, leaving s as it was, for
// anything else, and the caller parses with expfmt: that keeps expfmt's
// errors and its reading of unusual bodies, while the bodies of every
// interval skip its allocations (a scrape spent most of its time there).
// FuzzArangoFastPath checks both paths agree.
func fastSample(relevant []byte, s *arangoSample) bool {
	var fams [len(arangoScalars) + 1]fastFamily
	hist := &fams[len(arangoScalars)]
	var key []byte
	for rest := relevant; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i <= 0 {
			return false
		}
		line := rest[:i]
		rest = rest[i+1:]
		if line[0] == '#' {
			if !fastComment(line, &fams) {
				return false
			}
			continue
		}
		var ok bool
		if key, ok = fastLine(line, &fams, key); !ok {
			return false
		}
	}
	role := ""
	for i, name := range arangoScalars {
		f := &fams[i]
		if name == s.suspect || f.n == 0 {
			continue
		}
		s.values[name] = f.sum
		if role == "" {
			role = f.role
		}
	}
	hf := histFamily{present: len(hist.series) > 0, isHist: true}
	for _, hs := range hist.series {
		hf.series = append(hf.series, hs.histSeries)
		if role == "" {
			role = hs.role
		}
	}
	if role != "" {
		s.role = normalizeRole(role)
	}
	s.hist, s.histOK, s.histWhy = requestHistogram(hf, s.suspect == mRequestTime)
	return true
}

// fastFamily is one wanted family while scanning: its type so far ('c',
// 'g', 'u', 'h'; 0 before any TYPE line or sample), whether it had HELP,
// and its samples (sum and first role of a scalar; label sets of the
// histogram).
type fastFamily struct {
	typ    byte
	help   bool
	n      int
	sum    float64
	role   string
	series []fastSeries
}

type fastSeries struct {
	key  string // label pairs without le, sorted by name
	role string
	histSeries
}

// familyIndex is the position of a wanted family in fastSample's array:
// the scalars in arangoScalars order, then the request-time histogram.
func familyIndex(name []byte) int {
	if string(name) == mRequestTime {
		return len(arangoScalars)
	}
	for i, n := range arangoScalars {
		if string(name) == n {
			return i
		}
	}
	return -1
}

// fastComment takes a "# HELP name text" or "# TYPE name type" line.
func fastComment(line []byte, fams *[len(arangoScalars) + 1]fastFamily) bool {
	var help bool
	switch {
	case bytes.HasPrefix(line, []byte("# HELP ")):
		help = true
	case bytes.HasPrefix(line, []byte("# TYPE ")):
	default:
		return false
	}
	name, text, ok := bytes.Cut(line[len("# HELP "):], []byte(" "))
	if !ok || len(text) == 0 || text[0] == ' ' || text[0] == '\t' {
		return false
	}
	idx := familyIndex(name)
	if idx < 0 {
		return false
	}
	f := &fams[idx]
	if help {
		if f.help || bytes.IndexByte(text, '\\') >= 0 {
			return false
		}
		f.help = true
		return true
	}
	if f.typ != 0 {
		return false // second TYPE, or TYPE after samples
	}
	switch string(text) {
	case "counter":
		f.typ = 'c'
	case "gauge":
		f.typ = 'g'
	case "untyped":
		f.typ = 'u'
	case "histogram":
		f.typ = 'h'
	default:
		return false
	}
	return (f.typ == 'h') == (idx == len(arangoScalars))
}

// sample parts of the request-time histogram.
const (
	partScalar = iota
	partBucket
	partCount
	partSum
)

type labelPair struct{ name, value []byte }

// fastLine takes one sample line; key is a scratch buffer it returns.
func fastLine(line []byte, fams *[len(arangoScalars) + 1]fastFamily, key []byte) ([]byte, bool) {
	end := -1
	for i, b := range line {
		if b == '{' || b == ' ' {
			end = i
			break
		}
	}
	if end <= 0 {
		return key, false
	}
	name := line[:end]
	part, idx := partScalar, familyIndex(name)
	if idx == len(arangoScalars) {
		return key, false // the histogram's own name has no samples
	}
	if idx < 0 {
		base, suffix, ok := cutHistSuffix(name)
		if !ok || string(base) != mRequestTime {
			return key, false
		}
		part, idx = suffix, len(arangoScalars)
	}
	f := &fams[idx]
	if part != partScalar && f.typ != 'h' {
		return key, false // expfmt would start a family of that name
	}
	var pairs [8]labelPair
	np := 0
	rest := line[end:]
	if rest[0] == '{' {
		rest = rest[1:]
		for len(rest) > 0 && rest[0] != '}' {
			if np == len(pairs) {
				return key, false
			}
			var ok bool
			if pairs[np], rest, ok = cutLabelPair(rest); !ok {
				return key, false
			}
			for _, p := range pairs[:np] {
				if bytes.Equal(p.name, pairs[np].name) {
					return key, false
				}
			}
			np++
			if len(rest) > 0 && rest[0] == ',' {
				rest = rest[1:]
				if len(rest) == 0 || rest[0] == '}' {
					return key, false
				}
			}
		}
		if len(rest) == 0 {
			return key, false
		}
		rest = rest[1:]
	}
	if len(rest) < 2 || rest[0] != ' ' || !plainFloat(rest[1:]) {
		return key, false
	}
	v, err := strconv.ParseFloat(string(rest[1:]), 64)
	if err != nil {
		return key, false
	}
	var role, le []byte
	hasLE := false
	for _, p := range pairs[:np] {
		switch string(p.name) {
		case "role":
			role = p.value
		case "__name__":
			return key, false
		case "le":
			le, hasLE = p.value, true
		}
	}
	if part == partScalar {
		if f.typ == 0 {
			f.typ = 'u'
		}
		f.n++
		f.sum += v
		if f.role == "" && len(role) > 0 {
			f.role = string(role)
		}
		return key, true
	}
	if hasLE != (part == partBucket) || (part != partSum && v < 0) {
		return key, false
	}
	key = seriesKey(key[:0], pairs[:np])
	var hs *fastSeries
	for i := range f.series {
		if f.series[i].key == string(key) {
			hs = &f.series[i]
			break
		}
	}
	if hs == nil {
		f.series = append(f.series, fastSeries{key: string(key), role: string(role)})
		hs = &f.series[len(f.series)-1]
	}
	switch part {
	case partBucket:
		// As expfmt reads le (its parseFloat); a NaN bound adds no bucket
		// there, so such a body goes to expfmt.
		if bytes.ContainsAny(le, "pP_") {
			return key, false
		}
		ub, err := strconv.ParseFloat(string(le), 64)
		if err != nil || ub != ub {
			return key, false
		}
		hs.bounds = append(hs.bounds, ub)
		hs.counts = append(hs.counts, v)
	case partCount:
		hs.hasCount = true
	}
	return key, true
}

func cutHistSuffix(name []byte) ([]byte, int, bool) {
	for _, c := range [...]struct {
		suffix string
		part   int
	}{{"_bucket", partBucket}, {"_count", partCount}, {"_sum", partSum}} {
		if base, ok := bytes.CutSuffix(name, []byte(c.suffix)); ok {
			return base, c.part, true
		}
	}
	return nil, 0, false
}

// cutLabelPair reads `name="value"` (a plain name, a value without
// backslashes) from the start of b.
func cutLabelPair(b []byte) (labelPair, []byte, bool) {
	n := 0
	for n < len(b) && (b[n] == '_' || b[n] >= 'a' && b[n] <= 'z' || b[n] >= 'A' && b[n] <= 'Z' || n > 0 && b[n] >= '0' && b[n] <= '9') {
		n++
	}
	if n == 0 || n+1 >= len(b) || b[n] != '=' || b[n+1] != '"' {
		return labelPair{}, nil, false
	}
	v := b[n+2:]
	q := bytes.IndexByte(v, '"')
	if q < 0 || bytes.IndexByte(v[:q], '\\') >= 0 || !utf8.Valid(v[:q]) {
		return labelPair{}, nil, false
	}
	return labelPair{name: b[:n], value: v[:q]}, v[q+1:], true
}

// plainFloat is a decimal number's alphabet (no Inf, NaN, hex or
// underscores, which the direct scan leaves to expfmt).
func plainFloat(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// seriesKey appends the label pairs other than le, sorted by name, as one
// key (expfmt groups a histogram's lines by that label set).
func seriesKey(dst []byte, pairs []labelPair) []byte {
	var sorted [8]labelPair
	n := 0
	for _, p := range pairs {
		if string(p.name) == "le" {
			continue
		}
		j := n
		for j > 0 && bytes.Compare(sorted[j-1].name, p.name) > 0 {
			sorted[j] = sorted[j-1]
			j--
		}
		sorted[j] = p
		n++
	}
	for _, p := range sorted[:n] {
		dst = append(dst, p.name...)
		dst = append(dst, 0xff)
		dst = append(dst, p.value...)
		dst = append(dst, 0xff)
	}
	return dst
}
