package dcos

import (
	"errors"
	"fmt"
	"strings"
)

// labelSelector is one condition of GET /v2/apps?label= as Marathon's
// LabelSelectorParsers (mesosphere/marathon
// src/main/scala/mesosphere/marathon/api/v2/LabelSelectorParsers.scala,
// 1.4+) reads it: "key" (exists), "key==v", "key!=v", "key in (a, b)",
// "key notin (a, b)"; conditions separated by ',' must all hold. A term is
// [-A-Za-z0-9_.] or a backslash-escaped character; blanks between tokens
// are skipped (RegexParsers' whitespace handling).
type labelSelector struct {
	key    string
	op     string // "", "==", "!=", "in", "notin"
	values []string
}

// matches holds for an app that has the label (every kind of selector
// requires it, LabelSelector.matches) and whose value passes op.
func (s labelSelector) matches(labels map[string]string) bool {
	v, ok := labels[s.key]
	if !ok {
		return false
	}
	switch s.op {
	case "==":
		return v == s.values[0]
	case "!=":
		return v != s.values[0]
	case "in":
		return containsString(s.values, v)
	case "notin":
		return !containsString(s.values, v)
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func matchesAll(sel []labelSelector, labels map[string]string) bool {
	for _, s := range sel {
		if !s.matches(labels) {
			return false
		}
	}
	return true
}

var errSelector = errors.New("bad label selector")

type selectorScanner struct {
	in  string
	pos int
}

func (sc *selectorScanner) skipBlanks() {
	for sc.pos < len(sc.in) && (sc.in[sc.pos] == ' ' || sc.in[sc.pos] == '\t' || sc.in[sc.pos] == '\n' || sc.in[sc.pos] == '\r') {
		sc.pos++
	}
}

func isTermByte(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.'
}

// term reads one term, unescaping backslashes.
func (sc *selectorScanner) term() (string, bool) {
	sc.skipBlanks()
	var b strings.Builder
	for sc.pos < len(sc.in) {
		c := sc.in[sc.pos]
		switch {
		case c == '\\' && sc.pos+1 < len(sc.in):
			b.WriteByte(sc.in[sc.pos+1])
			sc.pos += 2
		case isTermByte(c):
			b.WriteByte(c)
			sc.pos++
		default:
			return b.String(), b.Len() > 0
		}
	}
	return b.String(), b.Len() > 0
}

func (sc *selectorScanner) literal(s string) bool {
	sc.skipBlanks()
	if strings.HasPrefix(sc.in[sc.pos:], s) {
		sc.pos += len(s)
		return true
	}
	return false
}

// parseLabelSelectors parses a whole query; an empty query selects all.
func parseLabelSelectors(in string) ([]labelSelector, error) {
	sc := &selectorScanner{in: in}
	sc.skipBlanks()
	if sc.pos == len(in) {
		return nil, nil
	}
	var out []labelSelector
	for {
		key, ok := sc.term()
		if !ok {
			return nil, fmt.Errorf("%w at offset %d: a label expected", errSelector, sc.pos)
		}
		s := labelSelector{key: key}
		switch {
		case sc.literal("=="), sc.literal("!="):
			s.op = in[sc.pos-2 : sc.pos]
			v, ok := sc.term()
			if !ok {
				return nil, fmt.Errorf("%w at offset %d: a value expected", errSelector, sc.pos)
			}
			s.values = []string{v}
		case sc.literal("notin"), sc.literal("in"):
			if strings.HasSuffix(in[:sc.pos], "notin") {
				s.op = "notin"
			} else {
				s.op = "in"
			}
			if !sc.literal("(") {
				return nil, fmt.Errorf("%w at offset %d: '(' expected", errSelector, sc.pos)
			}
			s.values = []string{}
			if !sc.literal(")") {
				for {
					v, ok := sc.term()
					if !ok {
						return nil, fmt.Errorf("%w at offset %d: a value expected", errSelector, sc.pos)
					}
					s.values = append(s.values, v)
					if sc.literal(")") {
						break
					}
					if !sc.literal(",") {
						return nil, fmt.Errorf("%w at offset %d: ',' or ')' expected", errSelector, sc.pos)
					}
				}
			}
		}
		out = append(out, s)
		sc.skipBlanks()
		if sc.pos == len(in) {
			return out, nil
		}
		if !sc.literal(",") {
			return nil, fmt.Errorf("%w at offset %d: ',' expected", errSelector, sc.pos)
		}
	}
}
