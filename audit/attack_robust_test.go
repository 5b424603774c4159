package audit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
)

// FuzzAttackParseVerifierKey: untrusted verifier keys never panic.
func FuzzAttackParseVerifierKey(f *testing.F) {
	k, err := crypto.GenerateSM2Key()
	require.NoError(f, err)
	vk, err := audit.VerifierKey(audit.DefaultOrigin, k.Public())
	require.NoError(f, err)
	f.Add(vk)
	f.Add("a+00000000+" + base64.StdEncoding.EncodeToString([]byte("\xffgmfield-sm2")))
	f.Add("a+zzzzzzzz+")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := audit.ParseVerifierKey(s)
		if err == nil {
			_ = v.Verify([]byte("x"), []byte("y"))
		}
	})
}

// FuzzAttackProof: untrusted proofs never panic, and only the real one
// verifies.
func FuzzAttackProof(f *testing.F) {
	k, v := newKey(f)
	dir, open := dirLog(f)
	writeLog(f, open, k, 13, audit.Sync)
	p, err := audit.Prove(context.Background(), audit.DirSource(dir), v, 6, 0)
	require.NoError(f, err)
	good, err := json.Marshal(p)
	require.NoError(f, err)
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		var q audit.Proof
		if json.Unmarshal(b, &q) != nil {
			return
		}
		if q.Verify(v) == nil {
			// Only a proof of a real leaf at its real index verifies.
			r, err := audit.Prove(context.Background(), audit.DirSource(dir), v, q.Index, q.Size)
			require.NoError(t, err)
			require.Equal(t, r.Leaf, q.Leaf, "a proof of a leaf not in the log verified")
		}
	})
}

// FuzzAttackHeadJSON: any head.json is refused or resumed, never a panic.
func FuzzAttackHeadJSON(f *testing.F) {
	k, _ := newKey(f)
	src, open := dirLog(f)
	writeLog(f, open, k, 7, audit.Sync)
	head, err := os.ReadFile(filepath.Join(src, "head.json"))
	require.NoError(f, err)
	log, err := os.ReadFile(filepath.Join(src, "log.jsonl"))
	require.NoError(f, err)
	cps, _ := filepath.Glob(filepath.Join(src, "checkpoints", "*.note"))
	f.Add(head)
	f.Add([]byte(`{"size":5,"offset":-3,"hashes":[]}`))
	f.Add([]byte(`{"size":7,"offset":99999999,"hashes":["00"]}`))
	f.Fuzz(func(t *testing.T, h []byte) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o700))
		for _, c := range cps {
			b, _ := os.ReadFile(c)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "checkpoints", filepath.Base(c)), b, 0o600))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "log.jsonl"), log, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "head.json"), h, 0o600))
		l, err := audit.OpenDir(context.Background(), dir, audit.Options{Key: k, CheckpointEvery: -1})
		if err == nil {
			_ = l.Record(context.Background(), event(1))
			_ = l.Close()
		}
	})
}

// FuzzAttackVerifySigned: leaves and checkpoints (signed by the key, so
// that parsing goes past the signature) never make Verify panic.
func FuzzAttackVerifySigned(f *testing.F) {
	k, v := newKey(f)
	s, err := audit.NewSigner(audit.DefaultOrigin, k)
	require.NoError(f, err)
	f.Add(uint64(3), []byte("AAAA"), []byte(`{"v":1,"i":0}`), uint64(1))
	f.Add(^uint64(0), []byte(""), []byte(`{"v":1,"i":18446744073709551615}`), uint64(0))
	f.Fuzz(func(t *testing.T, size uint64, root, leaf []byte, size2 uint64) {
		sign := func(n uint64) []byte {
			b, err := note.Sign(&note.Note{Text: audit.DefaultOrigin + "\n" + itoa(n) + "\n" + base64.StdEncoding.EncodeToString(root) + "\n"}, s)
			require.NoError(t, err)
			return b
		}
		m := &memSource{leaves: [][]byte{leaf, leaf}, cps: [][]byte{sign(size)}}
		r, err := audit.Verify(context.Background(), m, v, sign(size2))
		require.NoError(t, err)
		_ = r.String()
		_, _ = audit.Prove(context.Background(), m, v, 0, 0)
	})
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestAttackProofForgeries (regression, holds): a real proof changed to
// claim another index, size, leaf or path does not verify.
func TestAttackProofForgeries(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 13, audit.Sync)
	for _, idx := range []uint64{0, 5, 12} {
		p, err := audit.Prove(context.Background(), audit.DirSource(dir), v, idx, 0)
		require.NoError(t, err)
		require.NoError(t, p.Verify(v))
		forge := []func(q *audit.Proof){
			func(q *audit.Proof) { q.Index++ },
			func(q *audit.Proof) { q.Index = q.Size },
			func(q *audit.Proof) { q.Index += 1 << 40 },
			func(q *audit.Proof) { q.Size++ },
			func(q *audit.Proof) { q.Hashes = q.Hashes[:len(q.Hashes)-1] },
			func(q *audit.Proof) { q.Hashes = append(q.Hashes, q.Hashes[0]) },
			func(q *audit.Proof) {
				q.Leaf = strings.Replace(q.Leaf, `"v":1`, `"v": 1`, 1)
				q.LeafHash = audit.Hasher.HashLeaf([]byte(q.Leaf))
			},
			func(q *audit.Proof) { q.LeafHash = audit.Hasher.HashChildren(q.LeafHash, q.Hashes[0]) },
			func(q *audit.Proof) { q.Checkpoint = strings.Replace(q.Checkpoint, "\n13\n", "\n14\n", 1) },
		}
		for i, f := range forge {
			q := *p
			q.Hashes = append([][]byte(nil), p.Hashes...)
			f(&q)
			assert.Error(t, q.Verify(v), "forgery %d of index %d verified", i, idx)
		}
	}
}
