package metrics

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// The selected lines are parsed with the Prometheus server's own text
// parser (model/textparse), which lexes a line in place. expfmt built a
// dto.MetricFamily per family and a label pair per label: some 36
// allocations a line, most of a replay's garbage.

// famTally is what the selected lines say about one scalar family.
type famTally struct {
	typ     model.MetricType // from its # TYPE line ("" when none: untyped)
	sampled bool             // a sample line of it was seen (a later # TYPE is an error)
	sum     float64
	ok      bool   // some label set had a usable value
	role    string // the role label of the first label set with a value
}

// histSet is one label set (all labels but le) of the request-time
// histogram, in the order its lines came.
type histSet struct {
	key      uint64
	bounds   []float64
	cum      []float64
	hasCount bool
	role     string
}

// textTally is the per-scrape state of parseSelected, reused between
// scrapes of one textScratch.
type textTally struct {
	syms   *labels.SymbolTable
	lbls   labels.Labels
	hkey   []byte
	fams   map[string]*famTally
	pool   []famTally
	hist   []histSet
	histTy model.MetricType // from mRequestTime's # TYPE line ("" when none)
	histS  bool             // a sample of it was seen
}

// maxSymbols bounds the label strings kept interned between scrapes; a
// server whose label values keep changing only costs a fresh table.
const maxSymbols = 4096

func (tt *textTally) reset() {
	if tt.syms == nil || tt.syms.Len() > maxSymbols {
		tt.syms = labels.NewSymbolTable()
	}
	if tt.fams == nil {
		// The map points into pool and never changes: a reset zeroes pool.
		tt.fams = make(map[string]*famTally, len(arangoScalars))
		tt.pool = make([]famTally, len(arangoScalars))
		for i, name := range arangoScalars {
			tt.fams[name] = &tt.pool[i]
		}
	}
	clear(tt.pool)
	tt.hist = tt.hist[:0]
	tt.histTy, tt.histS = "", false
}

// parseSelected reads the selected lines (one entry per line: selection
// drops blank lines and every comment but # TYPE) into s. orig[i] is the
// body line of selected line i+1, for errors.
func (tt *textTally) parseSelected(sel []byte, orig []int, s *arangoSample) error {
	tt.reset()
	p := textparse.NewPromParser(sel, tt.syms, false)
	line := 0
	at := func() int {
		if line >= 1 && line <= len(orig) {
			return orig[line-1]
		}
		return 0
	}
	for {
		e, err := p.Next()
		line++
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("metrics body line %d: %w: %v", at(), ErrBadBody, err)
		}
		switch e {
		case textparse.EntryType:
			name, typ := p.Type()
			if err := tt.noteType(string(name), typ); err != nil {
				return fmt.Errorf("metrics body line %d: %w: %v", at(), ErrBadBody, err)
			}
		case textparse.EntrySeries:
			_, _, v := p.Series()
			p.Labels(&tt.lbls)
			if err := tt.noteSample(v); err != nil {
				return fmt.Errorf("metrics body line %d: %w: %v", at(), ErrBadBody, err)
			}
		}
	}
	tt.fill(s)
	return nil
}

func (tt *textTally) noteType(name string, typ model.MetricType) error {
	if name == mRequestTime {
		if tt.histTy != "" || tt.histS {
			return errors.New("second # TYPE line for " + name + ", or one after its samples")
		}
		tt.histTy = typ
		return nil
	}
	f := tt.fams[name]
	if f == nil {
		return nil // not selected; cannot happen
	}
	if f.typ != "" || f.sampled {
		return errors.New("second # TYPE line for " + name + ", or one after its samples")
	}
	f.typ = typ
	return nil
}

func (tt *textTally) noteSample(v float64) error {
	name := tt.lbls.Get(model.MetricNameLabel)
	if f := tt.fams[name]; f != nil {
		f.sampled = true
		if f.typ == model.MetricTypeHistogram || f.typ == model.MetricTypeSummary {
			return nil // a scalar signal's family that is not a scalar gives nothing
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		f.sum += v
		if !f.ok {
			f.role = tt.lbls.Get("role")
		}
		f.ok = true
		return nil
	}
	var suffix string
	switch name {
	case mRequestTime + "_bucket":
		suffix = "_bucket"
	case mRequestTime + "_count":
		suffix = "_count"
	case mRequestTime + "_sum":
		suffix = "_sum"
	case mRequestTime:
	default:
		return nil
	}
	tt.histS = true
	if tt.histTy != model.MetricTypeHistogram {
		return nil // reported as "not a histogram" or "not present" by fill
	}
	if suffix == "" {
		return errors.New(name + " sample without _bucket, _count or _sum in a histogram")
	}
	var key uint64
	key, tt.hkey = tt.lbls.HashWithoutLabels(tt.hkey, "le")
	h := tt.set(key)
	switch suffix {
	case "_bucket":
		le := tt.lbls.Get("le")
		ub, err := strconv.ParseFloat(le, 64)
		if err != nil {
			return fmt.Errorf("%s: le %q is not a number", name, le)
		}
		h.bounds = append(h.bounds, ub)
		h.cum = append(h.cum, v)
	case "_count":
		h.hasCount = true
	}
	return nil
}

// set returns the histogram label set of key, adding it when new.
func (tt *textTally) set(key uint64) *histSet {
	for i := range tt.hist {
		if tt.hist[i].key == key {
			return &tt.hist[i]
		}
	}
	if len(tt.hist) < cap(tt.hist) {
		tt.hist = tt.hist[:len(tt.hist)+1]
		h := &tt.hist[len(tt.hist)-1]
		*h = histSet{key: key, bounds: h.bounds[:0], cum: h.cum[:0], role: tt.lbls.Get("role")}
		return h
	}
	tt.hist = append(tt.hist, histSet{key: key, role: tt.lbls.Get("role")})
	return &tt.hist[len(tt.hist)-1]
}

// fill writes the tallies into s: the scalar sums, the merged histogram and
// the role (from the scalars in signal order, else from the histogram).
func (tt *textTally) fill(s *arangoSample) {
	for _, name := range arangoScalars {
		f := tt.fams[name]
		if name == s.suspect || !f.ok {
			continue
		}
		s.values[name] = f.sum
		if s.role == "" && f.role != "" {
			s.role = normalizeRole(f.role)
		}
	}
	s.hist, s.histOK, s.histWhy = tt.histogram(s.suspect == mRequestTime)
	if s.role == "" {
		for _, h := range tt.hist {
			if h.role != "" {
				s.role = normalizeRole(h.role)
				break
			}
		}
	}
}

// histogram merges the request-time histograms of all label sets (bucket
// by bucket) and checks that each is complete.
func (tt *textTally) histogram(suspect bool) (histogram, bool, string) {
	switch {
	case suspect:
		return histogram{}, false, mRequestTime + ": last line of a body without final newline (possibly truncated)"
	case !tt.histS:
		return histogram{}, false, mRequestTime + " not present"
	case tt.histTy != model.MetricTypeHistogram:
		return histogram{}, false, mRequestTime + " is not a histogram"
	case len(tt.hist) == 0:
		return histogram{}, false, mRequestTime + " not present"
	}
	var h histogram
	for i, set := range tt.hist {
		bs := set.bounds
		if len(bs) == 0 || !set.hasCount || !math.IsInf(bs[len(bs)-1], 1) {
			return histogram{}, false, mRequestTime + " incomplete (no +Inf bucket or _count; truncated?)"
		}
		if i == 0 {
			h.bounds = append([]float64(nil), bs...)
			h.cum = make([]float64, len(bs))
		} else if len(bs) != len(h.bounds) {
			return histogram{}, false, mRequestTime + ": label sets with different buckets"
		}
		prevUB, prevC := math.Inf(-1), 0.0
		for j, ub := range bs {
			c := set.cum[j]
			if ub != h.bounds[j] || ub <= prevUB || c < prevC || math.IsNaN(c) {
				return histogram{}, false, mRequestTime + ": buckets not ascending or not cumulative"
			}
			prevUB, prevC = ub, c
			h.cum[j] += c
		}
	}
	return h, true, ""
}
