package controller

import (
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// rowGauge is a gauge family with one row of series per key (its first
// labels): a series for each value of its last label, from a fixed list.
// arangoscale_scale_blocked has fourteen reasons per cluster and role (0 or
// 1), arangoscale_instances five counts, arangoscale_saga_step five steps
// per cluster. Kept as GaugeVecs, each of those series holds its own label
// pairs (about half a kilobyte); with 50 clusters they were 2,150 series and
// about a megabyte of the heap `run` keeps. Here a key is one row of
// floats, and the series are made only while a scrape collects them.
type rowGauge struct {
	desc    *prometheus.Desc
	keys    []string // label names of the key
	columns []string // values of the last label

	mu   sync.Mutex
	rows map[string]*gaugeRow // by the key's label values joined with \xff
}

type gaugeRow struct {
	keys   []string
	values []float64
}

func newRowGauge(name, help string, keys []string, column string, columns []string) *rowGauge {
	return &rowGauge{
		desc:    prometheus.NewDesc(name, help, append(append([]string(nil), keys...), column), nil),
		keys:    keys,
		columns: columns,
		rows:    map[string]*gaugeRow{},
	}
}

// Set gives the key's row: values[i] for columns[i]. values must have one
// value per column.
func (g *rowGauge) Set(values []float64, keys ...string) {
	if len(values) != len(g.columns) {
		panic("rowGauge: one value per column")
	}
	k := strings.Join(keys, "\xff")
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rows[k]; r != nil {
		copy(r.values, values)
		return
	}
	g.rows[k] = &gaugeRow{keys: append([]string(nil), keys...), values: append([]float64(nil), values...)}
}

// SetFlags gives the key's row 1 for every column on reports true, 0 for
// the others.
func (g *rowGauge) SetFlags(on func(column string) bool, keys ...string) {
	var buf [32]float64
	values := buf[:0]
	for _, c := range g.columns {
		v := 0.0
		if on(c) {
			v = 1
		}
		values = append(values, v)
	}
	g.Set(values, keys...)
}

// DeletePartialMatch drops the keys whose labels include all of l, as
// prometheus.MetricVec's method of that name does, and says how many
// series went. Only key labels are matched: l naming the column label or a
// label the family lacks matches nothing.
func (g *rowGauge) DeletePartialMatch(l prometheus.Labels) int {
	idx := make(map[int]string, len(l))
	for name, v := range l {
		i := slices.Index(g.keys, name)
		if i < 0 {
			return 0
		}
		idx[i] = v
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for k, r := range g.rows {
		match := true
		for i, v := range idx {
			if r.keys[i] != v {
				match = false
				break
			}
		}
		if match {
			delete(g.rows, k)
			n += len(g.columns)
		}
	}
	return n
}

// Describe implements prometheus.Collector.
func (g *rowGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *rowGauge) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	rows := make([]gaugeRow, 0, len(g.rows))
	for _, r := range g.rows {
		rows = append(rows, gaugeRow{keys: r.keys, values: slices.Clone(r.values)})
	}
	g.mu.Unlock()
	for _, r := range rows {
		lv := append(slices.Clip(r.keys), "")
		for i, c := range g.columns {
			lv[len(lv)-1] = c
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, r.values[i], lv...)
		}
	}
}
