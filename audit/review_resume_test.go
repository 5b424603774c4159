package audit_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/internal/testdb"
)

// TestReviewTableKeepsEmptyCheckpoint: the fix for
// TestAttackTableWriterResignsRewrittenHistory refuses a table whose
// checkpoint rows were all deleted. A DBA who deletes every checkpoint
// row but the one of size 0 (which every log has) gets the same result:
// its frontier is "" so resume checks the leaves against the empty root
// "at size 0", a check catchUp never makes, and the writer takes every
// leaf on trust and signs the rewritten history.
func TestReviewTableKeepsEmptyCheckpoint(t *testing.T) {
	tableRewriteResigned(t, `DELETE FROM gmfield_audit_checkpoint WHERE size > 0`)
}

// TestReviewDirKeepsEmptyCheckpoint: the same on a directory log: keep
// checkpoints/000…0.note, delete the others, and write head.json naming
// size 0 (no hash needed: the empty range).
func TestReviewDirKeepsEmptyCheckpoint(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 12, audit.Sync)
	l := readLines(t, dir)
	l[2] = strings.Replace(l[2], `"principal":"u2"`, `"principal":"nobody"`, 1)
	writeLines(t, dir, l)
	names, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*.note"))
	for _, n := range names {
		if !strings.HasSuffix(n, "00000000000000000000.note") {
			require.NoError(t, os.Remove(n))
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "head.json"), []byte(`{"size":0,"offset":0,"hashes":[]}`), 0o600))
	lg, err := open(audit.Options{Key: k, CheckpointEvery: -1})
	if err == nil {
		require.NoError(t, lg.Record(context.Background(), event(99)))
		require.NoError(t, lg.Close())
	}
	r := attackVerify(t, audit.DirSource(dir), v)
	assert.False(t, err == nil && r.OK(), "the writer re-signed a rewritten leaf 2 (only the size-0 checkpoint was kept): the log verifies (%+v)", r)
}

// TestReviewDirHeadDeletedLogEmptied: an operator empties log.jsonl and
// deletes head.json, and leaves every stored checkpoint in place. The
// writer reads only head.json, so it opens the store as a new log
// although checkpoints/ holds signed checkpoints of sizes 5, 10 and 12
// that no leaf gives; then, as the application writes, it overwrites
// those very files (atomicfile.Write) with checkpoints of the new
// history. docs/audit.md: "Checkpoints stored beside the log catch the
// same changes as long as they are present", and a writer "refuses to
// open a log whose leaves … do not give its last checkpoint's root".
func TestReviewDirHeadDeletedLogEmptied(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 12, audit.Sync)
	require.Equal(t, audit.Problem(""), attackVerify(t, audit.DirSource(dir), v).Problem)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log.jsonl"), nil, 0o600))
	require.NoError(t, os.Remove(filepath.Join(dir, "head.json")))
	require.False(t, attackVerify(t, audit.DirSource(dir), v).OK(), "the cut is visible while the stored checkpoints are there")

	lg, err := open(audit.Options{Key: k, CheckpointEvery: -1})
	assert.Error(t, err, "the stored checkpoint of size 12 is not given by an empty log.jsonl: the writer must refuse")
	if err != nil {
		return
	}
	// The application goes on; its writer checkpoints on its own schedule
	// (here at the same sizes as before).
	for i := 0; i < 12; i++ {
		require.NoError(t, lg.Record(context.Background(), event(100+i)))
		if i%5 == 4 {
			require.NoError(t, lg.Sync(context.Background()))
		}
	}
	require.NoError(t, lg.Close())
	r := attackVerify(t, audit.DirSource(dir), v)
	assert.False(t, r.OK(), "the original 12 events are gone and the stored checkpoints that showed it were overwritten by the writer: %s", r)
}

// TestReviewDirHeadRolledBack: head.json is where the writer resumes
// (format.md §9.4: "not trusted by verification"), but the writer trusts
// it over checkpoints/: restored to the head of size 5 (saved earlier, or
// computed from the leaves), the writer takes leaves 5…11 on trust although
// stored checkpoints of sizes 10 and 12 sign them, and signs an edit of
// leaf 7 into its next checkpoint.
func TestReviewDirHeadRolledBack(t *testing.T) {
	k, _ := newKey(t)
	dir, open := dirLog(t)
	ctx := context.Background()
	l, err := open(audit.Options{Key: k, CheckpointEvery: -1})
	require.NoError(t, err)
	for i := 0; i < 12; i++ {
		require.NoError(t, l.Record(ctx, event(i)))
		if i == 4 {
			require.NoError(t, l.Sync(ctx))
		}
	}
	old, err := os.ReadFile(filepath.Join(dir, "head.json"))
	require.NoError(t, err)
	require.Contains(t, string(old), `"size":5`)
	require.NoError(t, l.Close())

	lines := readLines(t, dir)
	lines[7] = strings.Replace(lines[7], `"principal":"u1"`, `"principal":"nobody"`, 1)
	writeLines(t, dir, lines)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "head.json"), old, 0o600))
	_, err = open(audit.Options{Key: k, CheckpointEvery: -1})
	assert.Error(t, err, "checkpoints/00000000000000000012.note is the last checkpoint and leaf 7 was edited: the writer must refuse")
}

// TestReviewTableLeavesDeletedUnderFrontier: with a frontier stored, the
// table writer never looks at the leaves below its checkpoint: a DBA
// deletes leaves 5…11 under the checkpoint of size 12 and the writer opens
// and appends at 12, although "the leaves do not give its last
// checkpoint's root" (there are 5 of them).
func TestReviewTableLeavesDeletedUnderFrontier(t *testing.T) {
	k, _ := newKey(t)
	raw, _ := testdb.SQLite(t)
	open := func(o audit.Options) (*audit.Log, error) {
		return audit.OpenTable(context.Background(), audit.Table{DB: raw, Dialect: "sqlite"}, o)
	}
	writeLog(t, open, k, 12, audit.Sync)
	_, err := raw.Exec(`DELETE FROM gmfield_audit WHERE idx >= 5`)
	require.NoError(t, err)
	lg, err := open(audit.Options{Key: k, CheckpointEvery: -1})
	if err == nil {
		_ = lg.Close()
	}
	assert.ErrorIs(t, err, audit.ErrCorrupt, "the table holds 5 leaves under a checkpoint of 12")
}

// TestReviewDirHeadOffsetMidLine: head.json is not read by the writer,
// which rebuilds from every leaf: a head.json moved into a leaf changes
// nothing, and the log it goes on writing verifies.
func TestReviewDirHeadOffsetMidLine(t *testing.T) {
	k, v := newKey(t)
	dir, open := dirLog(t)
	writeLog(t, open, k, 12, audit.Sync)
	raw, err := os.ReadFile(filepath.Join(dir, "head.json"))
	require.NoError(t, err)
	var h struct {
		Size   uint64   `json:"size"`
		Offset int64    `json:"offset"`
		Hashes []string `json:"hashes"`
	}
	require.NoError(t, json.Unmarshal(raw, &h))
	h.Offset -= 10
	raw, err = json.Marshal(h)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "head.json"), raw, 0o600))
	writeLog(t, open, k, 3, audit.Sync)
	r := attackVerify(t, audit.DirSource(dir), v)
	assert.True(t, r.OK(), "%+v", r)
	assert.EqualValues(t, 15, r.Leaves)
}
