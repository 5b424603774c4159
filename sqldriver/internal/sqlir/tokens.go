package sqlir

import "sort"

// Tokens indexes a statement's tokens (comments left out) by position and
// parenthesis nesting, for the translators to find where constructs end.
// Each dialect keeps its own token kinds beside it.
type Tokens struct {
	Spans []Span // each token's source span, in order
	Depth []int  // Depth[i]: parentheses open before token i
	Match []int  // Match[i]: for a "(" the index of its ")", else -1
}

// NewTokens indexes spans; open and close report whether token i is a
// "(" or a ")".
func NewTokens(spans []Span, open, close func(i int) bool) *Tokens {
	t := &Tokens{Spans: spans, Depth: make([]int, len(spans)), Match: make([]int, len(spans))}
	var stack []int
	for i := range spans {
		t.Depth[i] = len(stack)
		t.Match[i] = -1
		switch {
		case open(i):
			stack = append(stack, i)
		case close(i):
			if n := len(stack); n > 0 {
				t.Match[stack[n-1]] = i
				stack = stack[:n-1]
				t.Depth[i] = len(stack)
			}
		}
	}
	return t
}

// At returns the index of the token starting at pos, or -1.
func (t *Tokens) At(pos int) int {
	i := t.After(pos)
	if i < len(t.Spans) && t.Spans[i].Start == pos {
		return i
	}
	return -1
}

// After returns the index of the first token starting at or after pos.
func (t *Tokens) After(pos int) int {
	return sort.Search(len(t.Spans), func(i int) bool { return t.Spans[i].Start >= pos })
}

// Find returns the index of the first token at depth d, at or after index
// from, for which is returns true; -1 when a ")" closes depth d first.
func (t *Tokens) Find(from, d int, is func(i int) bool) int {
	for i := max(from, 0); i < len(t.Spans); i++ {
		if t.Depth[i] < d {
			return -1
		}
		if t.Depth[i] == d && is(i) {
			return i
		}
	}
	return -1
}

// End returns the end of the last token before index stop (of the
// statement, for stop < 0) that is not a final ";" (semicolon reports
// whether token i is one), or -1.
func (t *Tokens) End(stop int, semicolon func(i int) bool) int {
	if stop < 0 {
		stop = len(t.Spans)
	}
	for i := stop - 1; i >= 0; i-- {
		if !semicolon(i) {
			return t.Spans[i].End
		}
	}
	return -1
}
