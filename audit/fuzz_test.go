package audit_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gmfield/gmfield/audit"
)

// memSource is a log held in memory.
type memSource struct {
	leaves [][]byte
	cps    [][]byte
}

func (m *memSource) Leaves(_ context.Context, fn func(uint64, []byte) error) error {
	for i, l := range m.leaves {
		if err := fn(uint64(i), l); err != nil {
			return err
		}
	}
	return nil
}

func (m *memSource) Checkpoints(context.Context) ([][]byte, error) { return m.cps, nil }

// FuzzParseEvent: any bytes either parse as an event of format 1 or are
// refused with ErrCorrupt; never a panic.
func FuzzParseEvent(f *testing.F) {
	body := `{"v":1,"i":3,"t":"2026-12-02T10:00:00Z","instance":"a","principal":"p","roles":[],"kind":"select","tables":[],"columns":[{"c":"t.c","a":"mask"}],"rows":1,"decrypted":1,"outcome":"ok"}`
	f.Add([]byte(body))
	f.Add([]byte(`{"v":2,"i":0}`))
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := audit.ParseEvent(b)
		if err != nil {
			if e != nil {
				t.Fatal("an event with an error")
			}
			return
		}
		if e.Time.IsZero() && !bytes.Contains(b, []byte(`"t"`)) {
			t.Fatal("an event without a time parsed")
		}
	})
}

// FuzzVerify: a checkpointed log changed in any byte of any leaf, or
// cut, never verifies; the unchanged log always does; and Verify never
// fails to return a report for a readable source.
func FuzzVerify(f *testing.F) {
	k, v := newKey(f)
	dir, open := dirLog(f)
	writeLog(f, open, k, 12, audit.Sync)
	src := audit.DirSource(dir)
	var leaves [][]byte
	if err := src.Leaves(context.Background(), func(_ uint64, l []byte) error {
		leaves = append(leaves, append([]byte(nil), l...))
		return nil
	}); err != nil {
		f.Fatal(err)
	}
	cps, err := src.Checkpoints(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(3), uint16(10), byte('x'), false)
	f.Add(uint8(11), uint16(0), byte('{'), true)
	f.Add(uint8(0), uint16(0), byte(0), false)
	f.Fuzz(func(t *testing.T, leaf uint8, at uint16, b byte, cut bool) {
		m := &memSource{cps: cps}
		for _, l := range leaves {
			m.leaves = append(m.leaves, append([]byte(nil), l...))
		}
		i := int(leaf) % len(m.leaves)
		changed := false
		switch {
		case cut:
			m.leaves = m.leaves[:i]
			changed = true
		default:
			j := int(at) % (len(m.leaves[i]) + 1)
			if j == len(m.leaves[i]) {
				m.leaves[i] = append(m.leaves[i], b)
				changed = true
			} else if m.leaves[i][j] != b {
				m.leaves[i][j] = b
				changed = true
			}
		}
		r, err := audit.Verify(context.Background(), m, v)
		if err != nil {
			t.Fatal(err)
		}
		if changed == r.OK() {
			t.Fatalf("changed %v but verify OK %v: %+v", changed, r.OK(), r)
		}
	})
}

// FuzzEncode: the writer's encoder gives the bytes encoding/json gives
// for the same event, for any strings (quotes, controls, HTML, U+2028,
// invalid UTF-8), and what it writes parses back.
func FuzzEncode(f *testing.F) {
	f.Add("u1", "clerk", "citizen.id_no", "ticket 123", "select ?", int64(3), "ok")
	f.Add("\"\\<>&\u2028\u2029\x00\x1f\b\f\n\r\t", "\xff\xfe", "张三", "工单", "…", int64(-1), "x\x7f")
	f.Fuzz(func(t *testing.T, principal, role, column, reason, shape string, rows int64, outcome string) {
		e := &audit.Event{Time: time.Unix(1_800_000_000, 123456789), Instance: role + principal, Principal: principal, Roles: []string{role, ""},
			Grants: []audit.Grant{{Column: column, Action: "plain", Reason: reason, Expires: time.Unix(1_800_000_001, 5).In(time.FixedZone("x", 3600))}, {Role: role, Reason: reason}, {Rule: role, Reason: reason}},
			Kind:   "select", Fingerprint: reason, Shape: shape, Tables: []string{column}, Columns: []audit.Column{{Column: column, Action: outcome}},
			Rows: rows, Decrypted: rows / 2, Outcome: audit.Outcome(outcome), Reason: reason, Rule: shape}
		got, want, err := audit.EncodeBodies(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("encoder:\n%s\nencoding/json:\n%s", got, want)
		}
	})
}
