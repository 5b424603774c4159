// Package b64 decodes the standard padded base64 of RFC 4648 (§4)
// strictly, as encoding/base64's StdEncoding.Strict() does, faster: on
// amd64 with AVX2, 32 characters at a time with the vector lookups of Muła
// and Lemire ("Faster Base64 Encoding and Decoding Using AVX2
// Instructions", ACM TWEB 2018), the rest (the last quantum, with its
// padding, always) a quantum at a time; anything but clean input goes to
// encoding/base64, which decides and reports. Base64 here carries
// envelopes, which are not secret (the lookups index by ciphertext).
package b64

import (
	"encoding/base64"
	"errors"
)

var std = base64.StdEncoding.Strict()

// Decode decodes src into dst (at least DecodedLen(len(src)) bytes) and
// returns the number of bytes written, exactly as
// base64.StdEncoding.Strict().Decode does: same output, same errors,
// their offsets included.
func Decode(dst, src []byte) (int, error) {
	k := vectorPrefix(dst, src)
	n := k / 4 * 3
	if m, ok := decodeQuanta(dst[n:], src[k:]); ok {
		return n + m, nil
	}
	// Anything but whole, valid quanta — an invalid character, padding
	// where it may not be, line breaks — is encoding/base64's to decode
	// and report.
	m, err := std.Decode(dst[n:], src[k:])
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		err = ce + base64.CorruptInputError(k)
	}
	return n + m, err
}

// decodeQuanta decodes src, whole quanta of the alphabet with the last
// one padded or not and zero padding bits, into dst; ok is false, and dst
// untouched, for any other input. It checks all of src before it writes:
// src may be dst (decoding in place) and is intact for the fallback.
func decodeQuanta(dst, src []byte) (n int, ok bool) {
	if len(src)%4 != 0 {
		return 0, false
	}
	if len(src) == 0 {
		return 0, true
	}
	body, last := src[:len(src)-4], src[len(src)-4:]
	var bad byte
	for q := body; len(q) > 0; q = q[4:] {
		bad |= decodeMap[q[0]] | decodeMap[q[1]] | decodeMap[q[2]] | decodeMap[q[3]]
	}
	a, b, c, d := decodeMap[last[0]], decodeMap[last[1]], decodeMap[last[2]], decodeMap[last[3]]
	tail := 3
	switch {
	case last[3] != '=':
		bad |= a | b | c | d
	case last[2] == '=': // xx==: one byte, the last 4 bits zero
		bad |= a | b
		if b&0x0f != 0 {
			bad = 0xff
		}
		tail = 1
	default: // xxx=: two bytes, the last 2 bits zero
		bad |= a | b | c
		if c&0x03 != 0 {
			bad = 0xff
		}
		tail = 2
	}
	if bad&0xc0 != 0 || len(dst) < len(body)/4*3+tail {
		return 0, false
	}
	for q := body; len(q) > 0; q = q[4:] {
		v, _ := quantum(q)
		dst[n], dst[n+1], dst[n+2] = byte(v>>16), byte(v>>8), byte(v)
		n += 3
	}
	v := uint32(a)<<18 | uint32(b)<<12 | uint32(c&0x3f)<<6 | uint32(d&0x3f)
	for i := range tail {
		dst[n+i] = byte(v >> (16 - 8*i))
	}
	return n + tail, true
}

// quantum is the 24 bits of four characters of the alphabet; bad is
// set if one is not.
func quantum(q []byte) (v uint32, bad bool) {
	a, b, c, d := decodeMap[q[0]], decodeMap[q[1]], decodeMap[q[2]], decodeMap[q[3]]
	return uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d), (a|b|c|d)&0xc0 != 0
}

// decodeMap is each character's 6-bit value, or 0xff.
var decodeMap = func() (m [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range m {
		m[i] = 0xff
	}
	for i := range len(alphabet) {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// DecodedLen is the most bytes Decode writes for n characters.
func DecodedLen(n int) int { return std.DecodedLen(n) }

// vectorPrefix decodes the longest run of whole 32-character blocks at
// the start of src that are valid and leave at least one quantum after
// them (the padded one stays for encoding/base64), returning the
// characters decoded: a multiple of 32, or 0. When they are all valid,
// the characters between them and the last quantum go in one more block
// that ends at that quantum and overlaps the last whole one, so that only
// the last quantum is left: it returns len(src)-4 then. That block is
// decoded first, into a buffer of its own, so that decoding in place
// reads it before anything is written. It is worth its second call from
// three quanta up (minOverlap).
func vectorPrefix(dst, src []byte) int {
	if !useAVX2 || len(src) < minVector {
		return 0
	}
	end := len(src) - 4
	blocks := end / 32
	if room := len(dst) / 24; room < blocks {
		blocks = room
	}
	if blocks == 0 {
		return 0
	}
	if len(src)%4 == 0 && blocks == end/32 && end-32*blocks >= minOverlap && len(dst) >= end/4*3 {
		return overlapped(dst, src, blocks)
	}
	return 32 * decodeAVX2(dst, src, blocks)
}

// overlapped is vectorPrefix with the overlapping block: blocks whole
// blocks and one that ends at the last quantum, for which dst has room.
func overlapped(dst, src []byte, blocks int) int {
	end := len(src) - 4
	var tail [24]byte // the bytes of characters end-32 to end
	over := decodeAVX2(tail[:], src[end-32:end], 1) == 1
	k := 32 * decodeAVX2(dst, src, blocks)
	if over && k == 32*blocks {
		copy(dst[k/4*3:end/4*3], tail[(k-(end-32))/4*3:])
		k = end
	}
	return k
}

// minOverlap is the fewest characters left between the whole blocks and
// the last quantum that vectorPrefix decodes with an overlapping block.
const minOverlap = 12

// minVector is the shortest input that has a vector block: 32
// characters and a last quantum.
const minVector = 36
