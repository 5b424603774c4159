package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/internal/testdb"
)

// TestReviewResumeHeld: attacks on the resume rules that are refused.
// TestReviewResumeHeld: whatever is done to the writer's resume state
// (head.json, the frontier column, checkpoint rows and files), a writer
// either refuses the store or keeps a log that verifies: it never signs
// what it did not see signed.
func TestReviewResumeHeld(t *testing.T) {
	k, v := newKey(t)
	// extended opens the log, writes one event and closes it; it reports
	// whether the writer opened.
	extended := func(t *testing.T, src audit.Source, open func(audit.Options) (*audit.Log, error)) {
		l, err := open(audit.Options{Key: k})
		if err != nil {
			assert.ErrorIs(t, err, audit.ErrCorrupt)
			return
		}
		require.NoError(t, l.Record(context.Background(), event(50)))
		require.NoError(t, l.Close())
		r := attackVerify(t, src, v)
		assert.True(t, r.OK(), "the writer extended the log and it no longer verifies: %+v", r)
	}
	dirCases := map[string]func(t *testing.T, dir string){
		"head.json deleted only": func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "head.json")))
		},
		"head.json hash edited": func(t *testing.T, dir string) {
			raw, _ := os.ReadFile(filepath.Join(dir, "head.json"))
			i := strings.Index(string(raw), `"hashes":["`) + len(`"hashes":["`)
			raw[i] ^= 1
			require.NoError(t, os.WriteFile(filepath.Join(dir, "head.json"), raw, 0o600))
		},
		"head.json size edited": func(t *testing.T, dir string) {
			raw, _ := os.ReadFile(filepath.Join(dir, "head.json"))
			s := strings.Replace(string(raw), `"size":12`, `"size":10`, 1)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "head.json"), []byte(s), 0o600))
		},
		"log.jsonl cut below head's offset": func(t *testing.T, dir string) {
			writeLines(t, dir, readLines(t, dir)[:11])
		},
		"the checkpoint head names deleted": func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "checkpoints", "00000000000000000012.note")))
		},
	}
	for name, tamper := range dirCases {
		t.Run(name, func(t *testing.T) {
			dir, open := dirLog(t)
			writeLog(t, open, k, 12, audit.Sync)
			tamper(t, dir)
			extended(t, audit.DirSource(dir), open)
		})
	}
	tableCases := map[string]string{
		"frontier edited":                      `UPDATE gmfield_audit_checkpoint SET frontier = REPLACE(frontier, substr(frontier, 1, 1), CASE substr(frontier, 1, 1) WHEN 'a' THEN 'b' ELSE 'a' END) WHERE size = 12`,
		"frontier emptied, leaf 3 edited":      `UPDATE gmfield_audit SET leaf = REPLACE(leaf, '"u0"', '"zz"') WHERE idx = 3; UPDATE gmfield_audit_checkpoint SET frontier = '' WHERE size = 12`,
		"frontier emptied, leaves 5… deleted":  `DELETE FROM gmfield_audit WHERE idx >= 5; UPDATE gmfield_audit_checkpoint SET frontier = '' WHERE size = 12`,
		"every checkpoint row deleted":         `DELETE FROM gmfield_audit_checkpoint`,
		"top checkpoint's size column changed": `UPDATE gmfield_audit_checkpoint SET size = 99 WHERE size = 12`,
	}
	for name, q := range tableCases {
		t.Run(name, func(t *testing.T) {
			raw, _ := testdb.SQLite(t)
			open := func(o audit.Options) (*audit.Log, error) {
				return audit.OpenTable(context.Background(), audit.Table{DB: raw, Dialect: "sqlite"}, o)
			}
			writeLog(t, open, k, 12, audit.Sync)
			for _, s := range strings.Split(q, "; ") {
				_, err := raw.Exec(s)
				require.NoError(t, err)
			}
			src, err := audit.TableSource(audit.Table{DB: raw, Dialect: "sqlite"})
			require.NoError(t, err)
			extended(t, src, open)
		})
	}
}
