package audit

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendBody appends e's members after "v" and "i" as a JSON object,
// byte for byte as encoding/json writes the body struct (a fuzz target
// holds it to that), without reflection: the writer encodes every event.
func appendBody(dst []byte, e *Event) []byte {
	return append(appendMembers(append(dst, '{'), e), '}')
}

// appendLeaf appends the leaf of index i for e, by writer w.
func appendLeaf(dst []byte, i uint64, w string, e *Event) []byte {
	dst = appendHead(dst, i, w)
	return append(appendMembers(dst, e), '}')
}

// appendHead appends a leaf's first members, "v", "i" and "w", and the
// comma after them.
func appendHead(dst []byte, i uint64, w string) []byte {
	dst = append(dst, `{"v":1,"i":`...)
	dst = strconv.AppendUint(dst, i, 10)
	dst = append(dst, `,"w":"`...)
	dst = append(dst, w...)
	return append(dst, `",`...)
}

// appendMembers appends e's members after "v" and "i", without braces.
func appendMembers(dst []byte, e *Event) []byte {
	dst = append(dst, `"t":"`...)
	dst = e.Time.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z")
	dst = append(dst, `","instance":`...)
	dst = appendString(dst, e.Instance)
	dst = append(dst, `,"principal":`...)
	dst = appendString(dst, e.Principal)
	dst = append(dst, `,"roles":`...)
	dst = appendStrings(dst, e.Roles)
	if len(e.Grants) > 0 {
		dst = append(dst, `,"grants":[`...)
		for i, g := range e.Grants {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if g.Role != "" {
				dst = appendString(append(dst, `"role":`...), g.Role)
				dst = append(dst, ',')
			}
			if g.Column != "" {
				dst = appendString(append(dst, `"column":`...), g.Column)
				dst = append(dst, ',')
			}
			if g.Rule != "" {
				dst = appendString(append(dst, `"rule":`...), g.Rule)
				dst = append(dst, ',')
			}
			if g.Action != "" {
				dst = appendString(append(dst, `"action":`...), g.Action)
				dst = append(dst, ',')
			}
			dst = appendString(append(dst, `"reason":`...), g.Reason)
			dst = append(dst, `,"expires":"`...)
			dst = g.Expires.AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, `"}`...)
		}
		dst = append(dst, ']')
	}
	dst = appendString(append(dst, `,"kind":`...), e.Kind)
	if e.Fingerprint != "" {
		dst = appendString(append(dst, `,"fp":`...), e.Fingerprint)
	}
	if shape := cutShape(e.Shape); shape != "" {
		dst = appendString(append(dst, `,"shape":`...), shape)
	}
	dst = appendStrings(append(dst, `,"tables":`...), e.Tables)
	dst = append(dst, `,"columns":[`...)
	for i, c := range e.Columns {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(append(dst, `{"c":`...), c.Column)
		dst = appendString(append(dst, `,"a":`...), c.Action)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"rows":`...)
	dst = strconv.AppendInt(dst, e.Rows, 10)
	dst = append(dst, `,"decrypted":`...)
	dst = strconv.AppendInt(dst, e.Decrypted, 10)
	dst = appendString(append(dst, `,"outcome":`...), string(e.Outcome))
	if e.Reason != "" {
		dst = appendString(append(dst, `,"reason":`...), e.Reason)
	}
	if e.Rule != "" {
		dst = appendString(append(dst, `,"rule":`...), e.Rule)
	}
	return dst
}

// cutShape keeps at most MaxShape bytes of a shape, whole UTF-8.
func cutShape(shape string) string {
	if len(shape) <= MaxShape {
		return shape
	}
	cut := MaxShape - len("…")
	for cut > 0 && shape[cut]&0xc0 == 0x80 {
		cut--
	}
	return shape[:cut] + "…"
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does:
// HTML characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(dst, s[start:]...), '"')
}
