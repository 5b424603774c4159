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
	tlog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/internal/testdb"
)

func attackVerify(t *testing.T, src audit.Source, v note.Verifier, kept ...[]byte) *audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), src, v, kept...)
	require.NoError(t, err, "Verify returns an error only when the source cannot be read")
	return r
}

// TestAttackJunkCheckpointMasksDeletion: an operator deletes leaf 7 (below
// the stored checkpoints) and drops one junk file into checkpoints/. The
// report then names a "bad checkpoint" at index 0 instead of the deletion
// at index 7: the junk file hides what was done and where.
func TestAttackJunkCheckpointMasksDeletion(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 22, audit.Sync)
	l := readLines(t, dir)
	writeLines(t, dir, append(l[:7:7], l[8:]...))
	require.Equal(t, audit.Deleted, attackVerify(t, audit.DirSource(dir), v).Problem)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkpoints", "zzzz.note"), []byte("junk\n"), 0o600))
	r := attackVerify(t, audit.DirSource(dir), v)
	assert.False(t, r.OK())
	assert.Equal(t, audit.Deleted, r.Problem, "the deletion is reported, not the junk file: %+v", r)
	assert.EqualValues(t, 7, r.Index, "%+v", r)
}

// TestAttackNegativeIndexRow: a DBA inserts a row with idx -1 into the
// table log. Verify returns an error ("log data corrupt") instead of a
// Report naming the problem at index 0; its contract is an error only
// when the source cannot be read, and `gmfield audit verify` then
// reports no problem kind and no index.
func TestAttackNegativeIndexRow(t *testing.T) {
	k, v := newKey(t)
	raw, _ := testdb.SQLite(t)
	open := func(o audit.Options) (*audit.Log, error) {
		return audit.OpenTable(context.Background(), audit.Table{DB: raw, Dialect: "sqlite"}, o)
	}
	writeLog(t, open, k, 12, audit.Sync)
	_, err := raw.Exec(`INSERT INTO gmfield_audit (idx, leaf) SELECT -1, leaf FROM gmfield_audit WHERE idx = 3`)
	require.NoError(t, err)
	src, err := audit.TableSource(audit.Table{DB: raw, Dialect: "sqlite"})
	require.NoError(t, err)
	r := attackVerify(t, src, v)
	assert.False(t, r.OK())
	assert.EqualValues(t, 0, r.Index, "the foreign row is the first one read: %+v", r)
}

// TestAttackCheckpointBodyExtraLines: docs/format.md §9.3 says a
// checkpoint whose body is not exactly three lines is rejected; a note
// signed by the log's key with a fourth body line is accepted by Verify
// and by Proof.Verify.
func TestAttackCheckpointBodyExtraLines(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 10, audit.Sync)
	raw, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	require.NoError(t, err)
	n, err := note.Open(raw, note.VerifierList(v))
	require.NoError(t, err)
	s, err := audit.NewSigner(audit.DefaultOrigin, k)
	require.NoError(t, err)
	four, err := note.Sign(&note.Note{Text: n.Text + "extra line\n"}, s)
	require.NoError(t, err)
	_, _, _, perr := tlog.ParseCheckpoint(four, audit.DefaultOrigin, v)
	require.NoError(t, perr, "the four-line note is well signed")

	r := attackVerify(t, audit.DirSource(dir), v, four)
	assert.Equal(t, audit.BadSigned, r.Problem, "a kept checkpoint with a four-line body must be rejected: %+v", r)

	p, err := audit.Prove(context.Background(), audit.DirSource(dir), v, 3, 0)
	require.NoError(t, err)
	p.Checkpoint = string(four)
	assert.Error(t, p.Verify(v), "a proof against a four-line checkpoint must be rejected")
}

// TestAttackWriterResignsRewrittenHistory: an operator rewrites leaf 2
// (below the stored checkpoints), deletes head.json and every stored
// checkpoint. The writer, reopened, trusts every leaf of log.jsonl,
// and signs checkpoints of the rewritten history: the log then verifies,
// and every checkpoint published from now on vouches for the forgery.
// docs/audit.md only concedes that events after the last kept checkpoint
// can be *cut*; here they are rewritten and signed.
func TestAttackWriterResignsRewrittenHistory(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 12, audit.Sync)
	l := readLines(t, dir)
	l[2] = strings.Replace(l[2], `"principal":"u2"`, `"principal":"nobody"`, 1)
	writeLines(t, dir, l)
	require.Equal(t, audit.Edited, attackVerify(t, audit.DirSource(dir), v).Problem)

	require.NoError(t, os.Remove(filepath.Join(dir, "head.json")))
	names, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*.note"))
	for _, n := range names {
		require.NoError(t, os.Remove(n))
	}
	// The application restarts and writes one more event.
	lg, err := open(audit.Options{Key: k, CheckpointEvery: -1})
	if err == nil {
		require.NoError(t, lg.Record(context.Background(), event(99)))
		require.NoError(t, lg.Close())
	}
	r := attackVerify(t, audit.DirSource(dir), v)
	assert.False(t, err == nil && r.OK(), "the writer re-signed a rewritten leaf 2: the log verifies (%+v)", r)
}

// TestAttackTableWriterResignsRewrittenHistory: the same on a table log:
// a DBA edits leaf 2 and deletes the checkpoint rows.
func TestAttackTableWriterResignsRewrittenHistory(t *testing.T) {
	tableRewriteResigned(t, `DELETE FROM gmfield_audit_checkpoint`)
}

// tableRewriteResigned writes a 12-event table log, edits leaf 2, runs
// drop (removing checkpoint rows), reopens the log and writes an event:
// the writer must refuse, or the log must fail to verify.
func tableRewriteResigned(t *testing.T, drop string) {
	k, v := newKey(t)
	raw, _ := testdb.SQLite(t)
	open := func(o audit.Options) (*audit.Log, error) {
		return audit.OpenTable(context.Background(), audit.Table{DB: raw, Dialect: "sqlite"}, o)
	}
	writeLog(t, open, k, 12, audit.Sync)
	for _, q := range []string{
		`UPDATE gmfield_audit SET leaf = REPLACE(leaf, '"principal":"u2"', '"principal":"nobody"') WHERE idx = 2`,
		drop,
	} {
		_, err := raw.Exec(q)
		require.NoError(t, err)
	}
	lg, err := open(audit.Options{Key: k, CheckpointEvery: -1})
	if err == nil {
		require.NoError(t, lg.Record(context.Background(), event(99)))
		require.NoError(t, lg.Close())
	}
	src, serr := audit.TableSource(audit.Table{DB: raw, Dialect: "sqlite"})
	require.NoError(t, serr)
	r := attackVerify(t, src, v)
	assert.False(t, err == nil && r.OK(), "the writer re-signed a rewritten leaf 2 after %q: the log verifies (%+v)", drop, r)
}

// TestAttackMixedLogsMislocateEdit: two instances keep directory logs
// signed with the same key and the default origin (one YAML copied to
// both hosts). An operator of host A replaces A's leaves 0…19 and the
// checkpoints up to 20 by host B's. Verified with A's published checkpoint
// of size 22, the report says the edit is "among leaves 20…21" — it vouches
// for leaves 0…19, which were all replaced. B's checkpoint of size 20 is
// not consistent with A's of size 22, but the edit stops verification
// before the consistency proofs.
func TestAttackMixedLogsMislocateEdit(t *testing.T) {
	k, v := newKey(t)
	a, openA := dirLog(t)
	writeLog(t, openA, k, 22, audit.Sync)
	kept, err := os.ReadFile(filepath.Join(a, "checkpoint"))
	require.NoError(t, err)
	b, openB := dirLog(t)
	attackWriteOther(t, openB, k, 30)

	la, lb := readLines(t, a), readLines(t, b)
	writeLines(t, a, append(append([]string{}, lb[:20]...), la[20:]...))
	for size := 5; size <= 20; size += 5 {
		n := fmt.Sprintf("%020d.note", size)
		raw, err := os.ReadFile(filepath.Join(b, "checkpoints", n))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(a, "checkpoints", n), raw, 0o600))
	}
	require.NoError(t, os.Remove(filepath.Join(a, "checkpoints", fmt.Sprintf("%020d.note", 22))))

	r := attackVerify(t, audit.DirSource(a), v, kept)
	require.False(t, r.OK())
	assert.EqualValues(t, 0, r.Index, "leaf 0 was replaced, the report says: %s", r)
}
