package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
)

// TestAttackTamperingHeld (regression, holds): tamperings that Verify
// catches, each at a useful index.
func TestAttackTamperingHeld(t *testing.T) {
	k, v := newKey(t)
	type tc struct {
		name    string
		tamper  func(t *testing.T, dir string) [][]byte // returns kept checkpoints
		problem audit.Problem
		lo, hi  uint64 // the reported index is in [lo, hi]
	}
	kept := func(t *testing.T, dir string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
		require.NoError(t, err)
		return b
	}
	cases := []tc{
		{"swap with restated indexes (duplicate keys)", func(t *testing.T, dir string) [][]byte {
			l := readLines(t, dir)
			a, b := strings.TrimSuffix(l[7], "}\n"), strings.TrimSuffix(l[8], "}\n")
			l[7], l[8] = b+`,"i":7}`+"\n", a+`,"i":8}`+"\n"
			writeLines(t, dir, l)
			return nil
		}, audit.Edited, 5, 7},
		{"unicode escape of the same text", func(t *testing.T, dir string) [][]byte {
			l := readLines(t, dir)
			l[3] = strings.Replace(l[3], `"kind":"select"`, `"kind":"\u0073elect"`, 1)
			writeLines(t, dir, l)
			return nil
		}, audit.Edited, 0, 3},
		{"whitespace", func(t *testing.T, dir string) [][]byte {
			l := readLines(t, dir)
			l[12] = strings.Replace(l[12], `,"kind"`, `, "kind"`, 1)
			writeLines(t, dir, l)
			return nil
		}, audit.Edited, 10, 12},
		{"index written 7.0 / 7e0 / \"7\"", func(t *testing.T, dir string) [][]byte {
			l := readLines(t, dir)
			l[7] = strings.Replace(l[7], `"i":7,`, `"i":7e0,`, 1)
			writeLines(t, dir, l)
			return nil
		}, audit.BadLeaf, 7, 7},
		{"crlf line ending", func(t *testing.T, dir string) [][]byte {
			l := readLines(t, dir)
			l[4] = strings.TrimSuffix(l[4], "\n") + "\r\n"
			writeLines(t, dir, l)
			return nil
		}, audit.Edited, 0, 4},
		{"kept checkpoint larger than a cut log, stored ones removed", func(t *testing.T, dir string) [][]byte {
			c := kept(t, dir)
			l := readLines(t, dir)
			writeLines(t, dir, l[:9])
			names, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*.note"))
			for _, n := range names {
				require.NoError(t, os.Remove(n))
			}
			return [][]byte{c}
		}, audit.Truncated, 9, 9},
		{"last newline removed (last signed leaf becomes partial)", func(t *testing.T, dir string) [][]byte {
			raw, err := os.ReadFile(filepath.Join(dir, "log.jsonl"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "log.jsonl"), raw[:len(raw)-1], 0o600))
			return nil
		}, audit.Truncated, 21, 21},
		{"stored checkpoint replaced by one of another log (same key, same size)", func(t *testing.T, dir string) [][]byte {
			other, open := dirLog(t)
			attackWriteOther(t, open, k, 10)
			n := fmt.Sprintf("%020d.note", 10)
			b, err := os.ReadFile(filepath.Join(other, "checkpoints", n))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "checkpoints", n), b, 0o600))
			return nil
		}, audit.Edited, 5, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, open := dirLog(t)
			writeLog(t, open, k, 22, audit.Sync)
			kp := c.tamper(t, dir)
			r := attackVerify(t, audit.DirSource(dir), v, kp...)
			assert.Equal(t, c.problem, r.Problem, "%+v", r)
			assert.GreaterOrEqual(t, r.Index, c.lo, "%+v", r)
			assert.LessOrEqual(t, r.Index, c.hi, "%+v", r)
		})
	}
}

// TestAttackForgedCheckpointFile (regression, holds): a checkpoint file
// signed by another key, or with the right key id but a changed body,
// does not verify; nor does a head.json pointing the writer at it.
func TestAttackForgedCheckpointFile(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 12, audit.Sync)
	other, _ := newKey(t)
	od, oopen := dirLog(t)
	writeLog(t, oopen, other, 12, audit.Sync)
	b, err := os.ReadFile(filepath.Join(od, "checkpoint"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkpoints", fmt.Sprintf("%020d.note", 12)), b, 0o600))
	r := attackVerify(t, audit.DirSource(dir), v)
	assert.Equal(t, audit.BadSigned, r.Problem)
	_, err = open(audit.Options{Key: k})
	assert.ErrorIs(t, err, audit.ErrCorrupt, "the writer refuses a checkpoint it did not sign")
}

// attackWriteOther writes n events unlike writeLog's, checkpointing
// every 5.
func attackWriteOther(t *testing.T, open func(audit.Options) (*audit.Log, error), k *crypto.SM2PrivateKey, n int) {
	l, err := open(audit.Options{Key: k, CheckpointEvery: -1})
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		e := event(i)
		e.Principal = "other"
		require.NoError(t, l.Record(context.Background(), e))
		if i%5 == 4 {
			require.NoError(t, l.Sync(context.Background()))
		}
	}
	require.NoError(t, l.Close())
}
