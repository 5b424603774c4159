package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver/config"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// TestProposeLoads scans the corpus, writes the proposed configuration,
// and checks that config.Load accepts it as is (once its key directory
// exists), that it protects the personal columns the scan found, with
// the blind indexes of identifiers and phones, and that gmfield ddl's
// statements for it apply to the database.
func TestProposeLoads(t *testing.T) {
	for _, b := range backends {
		t.Run(b.dialect, func(t *testing.T) {
			ctx := context.Background()
			db, schema := b.open(t)
			loadCorpus(t, db, b.dialect, schema)
			rep, err := Scan(ctx, db, Options{Dialect: b.dialect, Schema: schema})
			require.NoError(t, err)
			yml := Propose(rep, "")
			for _, c := range [][2]string{{"citizen", "sfzh"}, {"citizen", "jtzz"}, {"bank_account", "card_no"}} {
				assert.NotContains(t, string(yml), valueOf(t, c[0], c[1]), "the proposal holds no value")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "gmfield.yaml")
			require.NoError(t, os.WriteFile(path, yml, 0o600))
			_, err = local.Init(ctx, filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"})
			require.NoError(t, err)
			cfg, err := config.Load(path)
			require.NoErrorf(t, err, "%s", yml)

			cols := map[string]string{}
			for _, tc := range cfg.Tables {
				for _, c := range tc.Columns {
					var idx []string
					for _, ix := range c.Indexes {
						idx = append(idx, ix.Column)
					}
					cols[tc.Name+"."+c.Name] = strings.Join(idx, ",")
				}
				if tc.Name == "citizen" {
					assert.Equal(t, "id", tc.RowKey)
				}
			}
			assert.Equal(t, "sfzh_bidx", cols["citizen.sfzh"])
			assert.Equal(t, "shouji_bidx,shouji_last4_bidx", cols["citizen.shouji"])
			assert.Equal(t, "card_no_bidx", cols["bank_account.card_no"])
			assert.Contains(t, cols, "citizen.xm")
			assert.Contains(t, cols, "patient.face_image")
			assert.NotContains(t, cols, "orders.order_no", "a hard negative is not protected")
			assert.NotContains(t, cols, "company.tyshxydm", "an organisation's code is not personal")
			assert.Contains(t, string(yml), "# 手机号 (mobile", "a column gmfield cannot name is listed as a comment")
			assert.Contains(t, string(yml), "# table 客户: not a plain lower-case identifier")

			for _, tc := range cfg.Tables {
				stmts, err := lifecycle.DDL(ctx, db, cfg, b.dialect, tc.Name)
				require.NoError(t, err)
				for _, s := range stmts {
					_, err := db.ExecContext(ctx, s)
					require.NoErrorf(t, err, "%s", s)
				}
				again, err := lifecycle.DDL(ctx, db, cfg, b.dialect, tc.Name)
				require.NoError(t, err)
				assert.Empty(t, again, "the DDL applied: nothing is missing")
			}
		})
	}
}

// valueOf is the first value of a corpus column.
func valueOf(t *testing.T, table, column string) string {
	tables, _ := generateCorpus()
	rows := tables[table]
	for i, h := range rows[0] {
		if strings.HasPrefix(h, column+":") {
			return rows[1][i]
		}
	}
	t.Fatalf("no column %s.%s", table, column)
	return ""
}
