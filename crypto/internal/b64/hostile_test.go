//go:build linux

package b64

import (
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"syscall"
	"testing"
)

type result struct {
	n     int
	err   string
	out   string
	panic string
}

func run(f func([]byte, []byte) (int, error), dst, src []byte) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r.panic = "panic"
		}
	}()
	n, err := f(dst, src)
	r.n = n
	if err != nil {
		r.err = fmt.Sprintf("%T %v", err, err)
	}
	r.out = string(dst[:n])
	return
}

// cmpLen compares with a dst of length dl (may be short: both must panic or
// both give the same result).
func cmpLen(t testing.TB, src []byte, dl int) {
	t.Helper()
	a := make([]byte, dl, dl+16)
	b := make([]byte, dl, dl+16)
	for i := range a[:cap(a)] {
		a[:cap(a)][i] = 0xA5
		b[:cap(b)][i] = 0xA5
	}
	want := run(std.Decode, a, src)
	got := run(Decode, b, src)
	if want != got {
		t.Fatalf("src %q len(dst)=%d: got %+v want %+v", src, dl, got, want)
	}
	for i := dl; i < cap(b); i++ {
		if b[:cap(b)][i] != 0xA5 {
			t.Fatalf("src %q: wrote past len(dst) at %d", src, i)
		}
	}
}

func cmpAll(t testing.TB, src []byte) {
	t.Helper()
	d := DecodedLen(len(src))
	cmpLen(t, src, d)
	cmpLen(t, src, d+1)
	cmpLen(t, src, d+40)
}

const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func enc(r *mrand.Rand, n int) []byte {
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	return []byte(base64.StdEncoding.EncodeToString(raw))
}

// Every dst length from 0 to DecodedLen+9, for many inputs, valid and not.
func TestShortAndLongDst(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for n := 0; n < 130; n++ {
		e := enc(r, n)
		variants := [][]byte{e}
		for k := 0; k < 6 && len(e) > 0; k++ {
			v := append([]byte(nil), e...)
			v[r.IntN(len(v))] = "\n\r=!A\x00\x80"[r.IntN(7)]
			variants = append(variants, v)
		}
		for _, v := range variants {
			for dl := 0; dl <= DecodedLen(len(v))+9; dl++ {
				cmpLen(t, v, dl)
			}
		}
	}
}

// Line breaks (1..3 of them, \r, \n) inserted at every position.
func TestLineBreaksEverywhere(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 24, 25, 26, 27, 28, 48, 49, 50, 51, 72, 75, 100} {
		e := enc(r, n)
		for i := 0; i <= len(e); i++ {
			for _, ins := range []string{"\n", "\r", "\r\n", "\n\n\n", "\n\r\n\r"} {
				v := append(append(append([]byte(nil), e[:i]...), ins...), e[i:]...)
				cmpAll(t, v)
				for dl := DecodedLen(len(v)) - 6; dl < DecodedLen(len(v)); dl++ {
					if dl >= 0 {
						cmpLen(t, v, dl)
					}
				}
			}
		}
	}
}

// All pairs of positions within interesting windows, with a set of
// interesting bytes.
func TestPairs(t *testing.T) {
	r := mrand.New(mrand.NewPCG(5, 6))
	set := []byte("=\n\rA/+9az\x00\x7f\x80\xff-_ .:@[`{\x2f\x2b\x3f\x40")
	for _, n := range []int{24, 25, 26, 27, 48, 50, 51, 75, 100} {
		e := enc(r, n)
		var pos []int
		for i := range e {
			if i < 2 || i >= len(e)-10 || (i%32 >= 29 || i%32 <= 2) {
				pos = append(pos, i)
			}
		}
		v := append([]byte(nil), e...)
		for _, i := range pos {
			for _, j := range pos {
				if j <= i {
					continue
				}
				for _, a := range set {
					for _, b := range set {
						v[i], v[j] = a, b
						cmpLen(t, v, DecodedLen(len(v)))
					}
				}
				v[i], v[j] = e[i], e[j]
			}
		}
	}
}

// Truncations and extensions: every length 0..300 of a valid stream, with
// arbitrary tails.
func TestLengths(t *testing.T) {
	r := mrand.New(mrand.NewPCG(7, 8))
	e := enc(r, 240)
	for l := 0; l <= len(e); l++ {
		cmpAll(t, e[:l])
		for _, tail := range []string{"=", "==", "===", "\n", "A=", "AA==", "AAA=", "AB==", "AAB=", "====", "=\n=", "==\n", "=A"} {
			cmpAll(t, append(append([]byte(nil), e[:l]...), tail...))
		}
	}
	// padded inputs of every length
	for n := 0; n < 200; n++ {
		cmpAll(t, enc(r, n))
	}
}

// Non-canonical padding bits for every last character.
func TestPaddingBits(t *testing.T) {
	r := mrand.New(mrand.NewPCG(9, 9))
	for _, n := range []int{1, 2, 25, 26, 49, 50, 73, 74, 97, 98} {
		e := enc(r, n)
		v := append([]byte(nil), e...)
		last := len(v) - 3 // xx==: the second character holds the padding bits
		if n%3 == 2 {
			last = len(v) - 2 // xxx=: the third does
		}
		for c := 0; c < 256; c++ {
			v[last] = byte(c)
			cmpAll(t, v)
		}
	}
}

// Random fully-alphabet 32-blocks with vector decoding checked directly.
func TestVectorDirect(t *testing.T) {
	if !useAVX2 {
		t.Skip()
	}
	r := mrand.New(mrand.NewPCG(11, 12))
	for it := 0; it < 20000; it++ {
		nb := 1 + r.IntN(6)
		src := make([]byte, 32*nb+4)
		for i := range src {
			src[i] = alpha[r.IntN(64)]
		}
		bad := -1
		if r.IntN(2) == 0 {
			bad = r.IntN(32 * nb)
			for {
				c := byte(r.IntN(256))
				if decodeMap[c] == 0xff {
					src[bad] = c
					break
				}
			}
		}
		dst := make([]byte, 24*nb)
		got := decodeAVX2(dst, src, nb)
		want := nb
		if bad >= 0 {
			want = bad / 32
		}
		if got != want {
			t.Fatalf("blocks %d want %d", got, want)
		}
		ref := make([]byte, 24*nb)
		base64.StdEncoding.Decode(ref, src[:32*got])
		if string(ref[:24*got]) != string(dst[:24*got]) {
			t.Fatalf("mismatch")
		}
	}
}

// Every byte pair inside one 32-byte vector block, lanes apart (cross-lane,
// adjacent bytes in one dword for the VPSRLD shift).
func TestVectorAdjacentPairs(t *testing.T) {
	if !useAVX2 {
		t.Skip()
	}
	src := []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef" + "ghij")
	for _, p := range [][2]int{{0, 1}, {2, 3}, {14, 15}, {15, 16}, {16, 17}, {30, 31}, {3, 4}} {
		for a := 0; a < 256; a++ {
			for b := 0; b < 256; b++ {
				v := append([]byte(nil), src...)
				v[p[0]], v[p[1]] = byte(a), byte(b)
				dst := make([]byte, 24)
				got := decodeAVX2(dst, v, 1)
				want := 1
				if decodeMap[a] == 0xff || decodeMap[b] == 0xff {
					want = 0
				}
				if got != want {
					t.Fatalf("%d %d at %v: got %d", a, b, p, got)
				}
				if got == 1 {
					ref := make([]byte, 24)
					base64.StdEncoding.Decode(ref, v[:32])
					if string(ref) != string(dst) {
						t.Fatalf("%d %d at %v: bytes", a, b, p)
					}
				}
			}
		}
	}
}

// src and dst placed against PROT_NONE pages: any read past src or write
// past dst faults.
func TestGuardPages(t *testing.T) {
	ps := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 4*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[ps:2*ps], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[3*ps:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(13, 14))
	for n := 0; n < 400; n++ {
		e := enc(r, n)
		src := mem[ps-len(e) : ps]
		copy(src, e)
		for _, dl := range []int{DecodedLen(len(e)), n} {
			dst := mem[3*ps-dl : 3*ps]
			got, gerr := Decode(dst, src)
			if gerr != nil || got != n {
				t.Fatalf("n=%d dl=%d: %d %v", n, dl, got, gerr)
			}
		}
		// also with a bad last char
		if len(e) > 0 {
			src[len(src)-1] = '!'
			want := make([]byte, DecodedLen(len(e)))
			wn, werr := std.Decode(want, src)
			dst := mem[3*ps-DecodedLen(len(e)) : 3*ps]
			gn, gerr := Decode(dst, src)
			if wn != gn || fmt.Sprint(werr) != fmt.Sprint(gerr) {
				t.Fatalf("bad tail n=%d", n)
			}
		}
	}
}

// In place: dst shares src's start (the usual in-place decode).
func TestInPlace(t *testing.T) {
	r := mrand.New(mrand.NewPCG(15, 16))
	bad := 0
	defer func() {
		if bad > 0 {
			t.Errorf("in place: %d of 300 inputs decode differently from encoding/base64 in place", bad)
		}
	}()
	for n := 0; n < 300; n++ {
		e := enc(r, n)
		if n%5 == 0 && len(e) > 0 {
			e[r.IntN(len(e))] = '*'
		}
		a := append([]byte(nil), e...)
		b := append([]byte(nil), e...)
		c := append([]byte(nil), e...)
		want := run(std.Decode, a, a)
		ref := run(std.Decode, make([]byte, len(c)), c)
		if ref != want {
			t.Fatalf("stdlib itself not alias-safe at n=%d", n)
		}
		got := run(Decode, b, b)
		if want != got {
			bad++
			_ = got
		}
	}
}

func FuzzDecodeDst(f *testing.F) {
	f.Add([]byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w"), 3)
	f.Fuzz(func(t *testing.T, src []byte, delta int) {
		dl := DecodedLen(len(src)) + delta%8
		if dl < 0 {
			dl = 0
		}
		cmpLen(t, src, dl)
	})
}
