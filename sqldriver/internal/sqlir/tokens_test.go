package sqlir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTokens(t *testing.T) {
	// f ( a , ( b ) ) ;   at positions 0 2 4 6 8 10 12 14 16
	words := []string{"f", "(", "a", ",", "(", "b", ")", ")", ";"}
	spans := make([]Span, len(words))
	for i := range words {
		spans[i] = Span{Start: 2 * i, End: 2*i + 1}
	}
	tk := NewTokens(spans, func(i int) bool { return words[i] == "(" }, func(i int) bool { return words[i] == ")" })
	assert.Equal(t, []int{0, 0, 1, 1, 1, 2, 1, 0, 0}, tk.Depth)
	assert.Equal(t, []int{-1, 7, -1, -1, 6, -1, -1, -1, -1}, tk.Match)
	assert.Equal(t, 2, tk.At(4))
	assert.Equal(t, -1, tk.At(5))
	assert.Equal(t, 3, tk.After(5))
	is := func(w string) func(int) bool { return func(i int) bool { return words[i] == w } }
	assert.Equal(t, 3, tk.Find(2, 1, is(",")))
	assert.Equal(t, -1, tk.Find(5, 2, is(",")), "stops where depth 2 closes")
	assert.Equal(t, 15, tk.End(-1, is(";")), "leaves out the final ;")
	assert.Equal(t, 9, tk.End(5, is(";")))
	assert.Equal(t, -1, tk.End(0, is(";")))
}
