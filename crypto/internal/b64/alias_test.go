package b64

import (
	"encoding/base64"
	"testing"
)

// In-place decoding (dst and src the same buffer), which
// encoding/base64 gets right, goes wrong: decodeQuanta writes dst before it
// knows the input is clean, and the fallback then re-reads clobbered src.
func TestAliasNewlineQuantum(t *testing.T) {
	// "QUJD" then a quantum of line breaks: valid, decodes to "ABC".
	a := []byte("QUJD\n\n\n\n")
	b := append([]byte(nil), a...)
	wn, werr := std.Decode(a, a)
	gn, gerr := Decode(b, b)
	t.Logf("stdlib: %d %v %q", wn, werr, a[:wn])
	t.Logf("b64:    %d %v %q", gn, gerr, b[:gn])
	if wn != gn || string(a[:wn]) != string(b[:gn]) || (werr == nil) != (gerr == nil) {
		t.Errorf("in place differs")
	}
}

func TestAliasInvalidBecomesValid(t *testing.T) {
	// 12 plaintext bytes with three line breaks, the rest alphabet; then a
	// final quantum "AAA\n" that is one character short: invalid.
	p := []byte("\n\n\nAAAAAAAAA")
	src := []byte(base64.StdEncoding.EncodeToString(p) + "AAA\n")
	a := append([]byte(nil), src...)
	b := append([]byte(nil), src...)
	wn, werr := std.Decode(a, a)
	gn, gerr := Decode(b, b)
	t.Logf("src %q", src)
	t.Logf("stdlib: %d %v", wn, werr)
	t.Logf("b64:    %d %v %q", gn, gerr, b[:gn])
	if (werr == nil) != (gerr == nil) {
		t.Errorf("in place: error presence differs")
	}
}

// The pattern decodeText(s[:0], s) would produce: dst starts 5 bytes
// before src in one buffer ("gmf2:" + base64). Long input, so the AVX2
// blocks run first (for l >= 27); the bad quantum is the last.
func TestAliasPrefixedBuffer(t *testing.T) {
	for _, l := range []int{12, 21, 45, 60} {
		t.Run("", func(t *testing.T) { aliasPrefixed(t, l) })
	}
}

func aliasPrefixed(t *testing.T, l int) {
	p := make([]byte, l)
	for i := range p {
		p[i] = byte(i * 7)
	}
	body := base64.StdEncoding.EncodeToString(p)
	body = body[:len(body)-4] + "AAA\n" // last quantum one character short
	a := []byte("gmf2:" + body)
	b := []byte("gmf2:" + body)
	wn, werr := std.Decode(a, a[5:])
	gn, gerr := Decode(b, b[5:])
	t.Logf("stdlib: %d %v", wn, werr)
	t.Logf("b64:    %d %v", gn, gerr)
	if wn != gn || (werr == nil) != (gerr == nil) || string(a[:wn]) != string(b[:gn]) {
		t.Errorf("dst 5 bytes before src: differs")
	}
}
