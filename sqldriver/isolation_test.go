package sqldriver_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// leakDEK unwraps a DEK from a test key directory: what an attacker who
// stole one column's key holds.
func leakDEK(t *testing.T, dir, id string) []byte {
	t.Helper()
	kd := filepath.Join(dir, "keys")
	c, err := local.ReadConfig(kd)
	require.NoError(t, err)
	p, err := c.KEK.Provider(kd)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(kd, "keys", id+".json"))
	require.NoError(t, err)
	var rec keyring.Record
	require.NoError(t, json.Unmarshal(b, &rec))
	dek, err := p.Decrypt(rec.Wrapped, keyring.AssociatedData(rec.ID, rec.Keyspace))
	require.NoError(t, err)
	return dek
}

// TestLeakedColumnKeyForgesNothingElse is the regression test of issue 9
// item 1: a value sealed for contact.email with the citizen.phone DEK
// opened there. Now the driver refuses the DEK (crypto.ErrKeyMismatch),
// or reads NULL for a column with on_error: null.
func TestLeakedColumnKeyForgesNothingElse(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		dir := keyDir(t)
		cfg, err := config.Parse([]byte(testConfig), dir)
		require.NoError(t, err)
		raw, db := b.open(t, cfg)
		b.schema(t, db)
		ctx := as("admin")
		_, err = db.ExecContext(ctx, `INSERT INTO citizen (id, phone, note) VALUES (?, ?, ?)`, 1, "13800138000", "n")
		require.NoError(t, err)
		var stored string
		require.NoError(t, raw.QueryRow(`SELECT phone FROM citizen WHERE id = 1`).Scan(&stored))
		e, err := crypto.ParseText([]byte(stored))
		require.NoError(t, err)

		// The attacker forges values for other columns with the leaked
		// citizen.phone DEK, binding each target place in the AAD.
		dek := leakDEK(t, dir, e.KeyID)
		forge := func(ks, table, column, rowKey string) string {
			k, err := crypto.NewKey(e.KeyID, ks, crypto.SM4GCM, dek)
			require.NoError(t, err)
			v, err := k.SealText(nil, crypto.Location{Keyspace: ks, Table: table, Column: column, RowKey: rowKey}, []byte("forged"))
			require.NoError(t, err)
			return string(v)
		}
		_, err = raw.Exec(b.ph(`INSERT INTO contact (k, email) VALUES (?, ?)`), "c1", forge("contact.email", "contact", "email", ""))
		require.NoError(t, err)
		_, err = raw.Exec(b.ph(`UPDATE citizen SET name = ?, note = ? WHERE id = 1`), forge("citizen.name", "citizen", "name", "1"), forge("citizen.note", "citizen", "note", "1"))
		require.NoError(t, err)

		var s sql.NullString
		err = db.QueryRowContext(ctx, `SELECT email FROM contact WHERE k = 'c1'`).Scan(&s)
		assert.ErrorIs(t, err, sqldriver.ErrOpen)
		assert.ErrorIs(t, err, crypto.ErrKeyMismatch)
		err = db.QueryRowContext(ctx, `SELECT name FROM citizen WHERE id = 1`).Scan(&s)
		assert.ErrorIs(t, err, crypto.ErrKeyMismatch)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT note FROM citizen WHERE id = 1`).Scan(&s))
		assert.False(t, s.Valid, "on_error: null reads NULL, never the forged value")
		require.NoError(t, db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = 1`).Scan(&s))
		assert.Equal(t, "13800138000", s.String, "the leaked key still opens its own column")
	})
}

// rowKeyTypes are the row-key column types the canonicalization test
// runs, per backend: the declared type in the config, the SQL type, the
// value to insert, other spellings of the same key, and a value to refuse.
type rowKeyCase struct {
	name, config string
	sqlType      map[string]string // by backend name ("" for the default)
	insert       any
	same         []any // other ways to name the inserted key
	literal      string
	refuse       []any
}

func rowKeyCases() []rowKeyCase {
	ts := time.Date(2026, 12, 1, 8, 30, 15, 123456000, time.UTC)
	return []rowKeyCase{
		{name: "integer", config: "id", sqlType: map[string]string{"": "BIGINT", "sqlite": "INTEGER"},
			insert: int64(12), same: []any{"0012", "+12", 12.0, int32(12), uint64(12)}, literal: "'012'",
			refuse: []any{"12abc", " 12", 12.5, true, "1e1", nil}},
		{name: "text", config: "{column: id, type: text}", sqlType: map[string]string{"": "VARCHAR(64)", "sqlite": "TEXT", "mysql": "VARCHAR(64) COLLATE utf8mb4_bin"},
			insert: "doc-0001", same: []any{[]byte("doc-0001")}, literal: "'doc-0001'",
			refuse: []any{1.5, true}},
		{name: "uuid", config: "{column: id, type: uuid}", sqlType: map[string]string{"": "UUID", "sqlite": "TEXT", "mysql": "CHAR(36)"},
			insert: "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b", same: []any{"3F2A1B4C-5D6E-4F70-8A9B-0C1D2E3F4A5B"}, literal: "'3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b'",
			refuse: []any{"3f2a1b4c", int64(7)}},
		{name: "decimal", config: "{column: id, type: decimal, scale: 2}", sqlType: map[string]string{"": "NUMERIC(10,2)", "mysql": "DECIMAL(10,2)"},
			insert: "5.5", same: []any{"5.50", 5.5, "+005.500"}, literal: "5.50",
			refuse: []any{"5.555", 5.555, "abc", "0x10"}},
		{name: "timestamp", config: "{column: id, type: timestamp, precision: 6}", sqlType: map[string]string{"": "TIMESTAMPTZ(6)", "sqlite": "DATETIME", "mysql": "DATETIME(6)"},
			insert: ts, same: []any{ts.Round(time.Microsecond)},
			refuse: []any{"2026-12-01 08:30:15", ts.Add(time.Nanosecond), ts.In(time.FixedZone("CST", 8*3600))}},
	}
}

// TestRowKeysByDeclaredType is the regression test of issue 9 item 5:
// "0012" bound for an INTEGER key updated row 12 but sealed under "0012",
// so every later read failed. Row keys are canonicalized by the declared
// type, on every backend, through placeholders and literals.
func TestRowKeysByDeclaredType(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		for _, c := range rowKeyCases() {
			t.Run(c.name, func(t *testing.T) {
				doc := fmt.Sprintf("keyring: {dir: ./keys}\ntables:\n  person:\n    row_key: %s\n    columns:\n      phone: {mask: mobile, index: {phone_bidx: full}}\nroles:\n  admin: {default: plain}\n", c.config)
				cfg := newConfig(t, doc)
				raw, db := b.open(t, cfg)
				typ := c.sqlType[b.name]
				if typ == "" {
					typ = c.sqlType[""]
				}
				if b.name == "libpq" {
					typ = c.sqlType[""]
				}
				_, err := db.Exec(fmt.Sprintf(`CREATE TABLE person (id %s PRIMARY KEY, phone %s, phone_bidx %s)`, typ, b.text, b.short))
				require.NoError(t, err)
				ctx := as("admin")
				_, err = db.ExecContext(ctx, `INSERT INTO person (id, phone) VALUES (?, ?)`, c.insert, "13800000000")
				require.NoError(t, err)
				read := func() string {
					var p string
					require.NoError(t, db.QueryRowContext(ctx, `SELECT phone FROM person`).Scan(&p))
					return p
				}
				assert.Equal(t, "13800000000", read())
				// Whatever row the database's own comparison picks for
				// another spelling of the key, the value stays readable:
				// the driver binds the canonical key, never the spelling.
				before, matched := read(), 0
				for i, v := range c.same {
					want := fmt.Sprintf("1390000000%d", i)
					res, err := db.ExecContext(ctx, `UPDATE person SET phone = ? WHERE id = ?`, want, v)
					require.NoError(t, err, "%T %v", v, v)
					n, err := res.RowsAffected()
					require.NoError(t, err)
					if n == 1 {
						before = want
						matched++
					}
					assert.Equal(t, before, read(), "after an update keyed by %T %v (%d rows)", v, v, n)
				}
				if b.name != "sqlite" {
					assert.Equal(t, len(c.same), matched, "PostgreSQL and MySQL read every spelling as the same key")
				}
				if c.literal != "" {
					_, err = db.ExecContext(ctx, `UPDATE person SET phone = '13700000000' WHERE id = `+c.literal)
					require.NoError(t, err)
					assert.Equal(t, "13700000000", read(), "literal key %s", c.literal)
				}
				for _, v := range c.refuse {
					_, err := db.ExecContext(ctx, `UPDATE person SET phone = ? WHERE id = ?`, "13600000000", v)
					assert.ErrorIs(t, err, sqldriver.ErrBadValue, "%T %v must be refused", v, v)
				}
				var n int
				require.NoError(t, raw.QueryRow(`SELECT COUNT(*) FROM person`).Scan(&n))
				assert.Equal(t, 1, n)
			})
		}
		// Literal spellings of integer keys in INSERT and WHERE.
		cfg := newConfig(t, testConfig)
		_, db := b.open(t, cfg)
		b.schema(t, db)
		ctx := as("admin")
		for _, q := range []string{
			`INSERT INTO citizen (id, phone) VALUES ('05', '13800000005')`,
			`INSERT INTO citizen (id, phone) VALUES (6.0, '13800000006')`,
			`INSERT INTO citizen (id, phone) VALUES (2, '13800000002')`,
			`UPDATE citizen SET phone = '13900000002' WHERE id = '02'`,
		} {
			_, err := db.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
		for id, want := range map[int]string{5: "13800000005", 6: "13800000006", 2: "13900000002"} {
			var p string
			require.NoError(t, db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = ?`, id).Scan(&p))
			assert.Equal(t, want, p, "row %d", id)
		}
		for _, q := range []string{
			`INSERT INTO citizen (id, phone) VALUES (7.5, '13800000007')`,
			`UPDATE citizen SET phone = '1' WHERE id = 'x2'`,
			`UPDATE citizen SET phone = '1' WHERE id = TRUE`,
		} {
			_, err := db.ExecContext(ctx, q)
			assert.Error(t, err, q)
			assert.True(t, errIsAny(err, sqldriver.ErrBadValue, sqldriver.ErrRefused), "%s: %v", q, err)
		}
	})
}

// TestSuffixLikeIsExact is the regression test of issue 9 item 6: a last4
// index keeps four digits, but '%12' and '%12345' were accepted and
// answered wrongly.
func TestSuffixLikeIsExact(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		_, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		ctx := as("admin")
		for id, phone := range map[int]string{1: "13800012345", 2: "13800092345", 3: "13800000012"} {
			_, err := db.ExecContext(ctx, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, id, phone)
			require.NoError(t, err)
		}
		ids := func(q string, args ...any) ([]int, error) {
			rows, err := db.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []int
			for rows.Next() {
				var id int
				if err := rows.Scan(&id); err != nil {
					return nil, err
				}
				out = append(out, id)
			}
			return out, rows.Err()
		}
		got, err := ids(`SELECT id FROM citizen WHERE phone LIKE '%2345' ORDER BY id`)
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2}, got)
		got, err = ids(`SELECT id FROM citizen WHERE phone LIKE ? ORDER BY id`, "%0012")
		require.NoError(t, err)
		assert.Equal(t, []int{3}, got)
		for _, p := range []string{"%12", "%12345", "%123", "%abcd", "%１２３４", "%12%"} {
			_, err := ids(`SELECT id FROM citizen WHERE phone LIKE '` + p + `'`)
			assert.ErrorIs(t, err, sqldriver.ErrUnsupportedUse, "literal %s", p)
			_, err = ids(`SELECT id FROM citizen WHERE phone LIKE ?`, p)
			assert.ErrorIs(t, err, sqldriver.ErrUnsupportedUse, "bound %s", p)
		}
	})
}

// TestSchemaIsBound is the regression test of issue 9 item 8: a value
// copied to a same-named table of another schema (or database) opened
// there. Two applications declare their tables' schemas over one key ring.
func TestSchemaIsBound(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		dir := keyDir(t)
		doc := func(schema string) string {
			return strings.Replace(testConfig, "  citizen:\n    row_key: id\n", "  citizen:\n    schema: "+schema+"\n    row_key: id\n", 1)
		}
		cfgA, err := config.Parse([]byte(doc("app_a")), dir)
		require.NoError(t, err)
		cfgB, err := config.Parse([]byte(doc("app_b")), dir)
		require.NoError(t, err)
		raw, dbA, wrap := b.openMore(t, cfgA)
		dbB := wrap(cfgB)
		b.schema(t, dbA)
		ctx := as("admin")
		_, err = dbA.ExecContext(ctx, `INSERT INTO citizen (id, phone, note) VALUES (?, ?, ?)`, 1, "13800138000", "n")
		require.NoError(t, err)
		var p sql.NullString
		require.NoError(t, dbA.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = 1`).Scan(&p))
		assert.Equal(t, "13800138000", p.String)
		err = dbB.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = 1`).Scan(&p)
		assert.ErrorIs(t, err, sqldriver.ErrOpen, "the value is bound to schema app_a")
		// Copied under a DEK of the right keyspace, it still fails: the
		// schema is in the AAD.
		var stored string
		require.NoError(t, raw.QueryRow(`SELECT phone FROM citizen WHERE id = 1`).Scan(&stored))
		e, err := crypto.ParseText([]byte(stored))
		require.NoError(t, err)
		k, err := cfgA.Keyring.KeyContext(ctx, e.KeyID)
		require.NoError(t, err)
		assert.Equal(t, "app_a.citizen.phone", k.Keyspace())
		_, err = crypto.OpenText(nil, cfgA.Keyring, crypto.Location{Keyspace: "app_a.citizen.phone", Schema: "app_b", Table: "citizen", Column: "phone", RowKey: "1"}, []byte(stored))
		assert.ErrorIs(t, err, crypto.ErrAuthentication)
	})
}

// TestTablesWithoutRowKeyAreReported covers issue 9 item 9.
func TestTablesWithoutRowKeyAreReported(t *testing.T) {
	cfg := newConfig(t, testConfig)
	w := cfg.Warnings()
	require.Len(t, w, 1)
	assert.Contains(t, w[0], "table contact has no row_key")
}

func errIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// TestWriteOnlyService: a service holding only the SM2 public key writes
// values the readers open, cannot write index columns (it cannot compute
// a blind index), and its DEKs are never sealed under by the readers,
// who could not tell them from planted ones (docs/keys.md, "Trust model").
func TestWriteOnlyService(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		dir := t.TempDir()
		kd := filepath.Join(dir, "keys")
		_, err := local.Init(t.Context(), kd, local.KEKConfig{Kind: local.KindSM2})
		require.NoError(t, err)
		reader, err := config.Parse([]byte(strings.Replace(testConfig, "local-sm4", "local-sm2", 1)), dir)
		require.NoError(t, err)
		pubs, err := filepath.Glob(filepath.Join(kd, "kek-*.pub.pem"))
		require.NoError(t, err)
		require.Len(t, pubs, 1)
		pub, err := local.LoadSM2(pubs[0])
		require.NoError(t, err)
		store, err := keyring.OpenDir(kd)
		require.NoError(t, err)
		writerCfg := *reader
		writerCfg.Keyring = keyring.New(store, pub)

		raw, rdb, wrap := b.openMore(t, reader)
		b.schema(t, rdb)
		wdb := wrap(&writerCfg)
		_, err = wdb.ExecContext(as("admin"), `INSERT INTO citizen (id, name) VALUES (?, ?)`, 1, "张三")
		require.NoError(t, err, "a write-only service writes columns without indexes")
		_, err = wdb.ExecContext(as("admin"), `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 2, "13800138000")
		assert.ErrorIs(t, err, keyring.ErrCannotUnwrap, "but not index columns")
		var n int
		require.NoError(t, raw.QueryRow(b.ph(`SELECT count(*) FROM citizen WHERE id = ?`), 2).Scan(&n))
		assert.Zero(t, n, "nothing was written")

		var name string
		require.NoError(t, rdb.QueryRowContext(as("admin"), `SELECT name FROM citizen WHERE id = 1`).Scan(&name))
		assert.Equal(t, "张三", name, "the readers open what it wrote")
		_, err = rdb.ExecContext(as("admin"), `INSERT INTO citizen (id, name) VALUES (?, ?)`, 3, "李四")
		require.NoError(t, err)
		var c1, c3 string
		require.NoError(t, raw.QueryRow(`SELECT name FROM citizen WHERE id = 1`).Scan(&c1))
		require.NoError(t, raw.QueryRow(`SELECT name FROM citizen WHERE id = 3`).Scan(&c3))
		e1, err := crypto.ParseText([]byte(c1))
		require.NoError(t, err)
		e3, err := crypto.ParseText([]byte(c3))
		require.NoError(t, err)
		assert.NotEqual(t, e1.KeyID, e3.KeyID, "the reader seals under its own signed DEK, not the writer's")
	})
}
