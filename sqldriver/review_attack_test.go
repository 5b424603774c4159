package sqldriver_test

// Hostile-review tests for the batched sealing of a statement's values.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// TestReviewBatchCountsEverySeal: keyring.Current counts one seal per
// call ("call it once per value sealed"), and WithMaxSeals bounds the
// values one DEK seals. A statement that seals 12 values of one keyspace
// must therefore use at least 12/3 DEKs under WithMaxSeals(3). The first
// batched sealing asked Current once per keyspace and statement, so one
// DEK sealed all 12; each value now asks for its own.
func TestReviewBatchCountsEverySeal(t *testing.T) {
	dir := keyDir(t)
	cfg, err := config.Parse([]byte(testConfig), dir)
	require.NoError(t, err)
	cfg.Keyring, err = local.Open(filepath.Join(dir, "keys"), keyring.WithMaxSeals(3), keyring.WithReserve(1))
	require.NoError(t, err)
	raw, db := sqliteBackend.open(t, cfg)
	sqliteBackend.schema(t, db)
	const n = 12
	var q strings.Builder
	q.WriteString(`INSERT INTO citizen (id, name) VALUES `)
	var args []any
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?)")
		args = append(args, i+1, fmt.Sprint("name", i))
	}
	_, err = db.ExecContext(as("admin"), q.String(), args...)
	require.NoError(t, err)
	for id, c := range sealsPerKey(t, raw, `SELECT name FROM citizen`) {
		assert.LessOrEqual(t, c, 3, "DEK %s sealed %d values under WithMaxSeals(3)", id, c)
	}
	// Sealing one value per statement honours the limit.
	for i := range n {
		_, err = db.ExecContext(as("admin"), `INSERT INTO citizen (id, note) VALUES (?, ?)`, 100+i, "x")
		require.NoError(t, err)
	}
	for id, c := range sealsPerKey(t, raw, `SELECT note FROM citizen WHERE note IS NOT NULL`) {
		assert.LessOrEqual(t, c, 3, "one per statement: DEK %s sealed %d", id, c)
	}
}

// sealsPerKey counts the text envelopes query returns by the DEK that
// sealed them.
func sealsPerKey(t *testing.T, raw *sql.DB, query string) map[string]int {
	t.Helper()
	perKey := map[string]int{}
	rows, err := raw.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		e, err := crypto.ParseText([]byte(s))
		require.NoError(t, err)
		perKey[e.KeyID]++
	}
	require.NoError(t, rows.Err())
	return perKey
}

// TestReviewSlotMapping: statements mixing placeholders and literals,
// NULLs, text and binary protected columns, several keyspaces, index
// slots and an UPDATE pinned by its row key: each value lands in its own
// column and row, and a value copied to another column or row of the
// same statement does not open.
func TestReviewSlotMapping(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		raw, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		ctx := as("admin")
		_, err := db.ExecContext(ctx, `INSERT INTO citizen (note, id, photo, phone, name, id_no, city) VALUES (?, ?, ?, '13900000001', ?, NULL, 'c1'), (NULL, 2, ?, ?, 'lit-name', ?, ?)`,
			"note-1", 1, []byte{1, 2, 3}, nil,
			[]byte{}, "13900000002", "110105194912310022", "c2")
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `UPDATE citizen SET name = ?, photo = ?, note = NULL, phone = ? WHERE id = ?`, "upd-name", []byte{9}, "13900000009", 1)
		require.NoError(t, err)
		type row struct {
			note, phone, name, idNo sql.NullString
			photo                   []byte
		}
		read := func(id int) row {
			var r row
			require.NoError(t, db.QueryRowContext(ctx, `SELECT note, phone, name, id_no, photo FROM citizen WHERE id = ?`, id).Scan(&r.note, &r.phone, &r.name, &r.idNo, &r.photo))
			return r
		}
		r1, r2 := read(1), read(2)
		assert.False(t, r1.note.Valid)
		assert.Equal(t, "13900000009", r1.phone.String)
		assert.Equal(t, "upd-name", r1.name.String)
		assert.False(t, r1.idNo.Valid)
		assert.Equal(t, []byte{9}, r1.photo)
		assert.False(t, r2.note.Valid)
		assert.Equal(t, "13900000002", r2.phone.String)
		assert.Equal(t, "lit-name", r2.name.String)
		assert.Equal(t, "110105194912310022", r2.idNo.String)
		assert.True(t, r2.photo != nil && len(r2.photo) == 0, "empty binary: %v", r2.photo)
		var id int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT id FROM citizen WHERE phone = ?`, "13900000009").Scan(&id))
		assert.Equal(t, 1, id)
		// Moved between columns of one row (same form): refused.
		var name string
		require.NoError(t, raw.QueryRow(`SELECT name FROM citizen WHERE id = 2`).Scan(&name))
		_, err = raw.Exec(b.ph(`UPDATE citizen SET phone = ? WHERE id = 2`), name)
		require.NoError(t, err)
		var got string
		require.Error(t, db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = 2`).Scan(&got))
		var photo1 []byte
		require.NoError(t, raw.QueryRow(`SELECT photo FROM citizen WHERE id = 1`).Scan(&photo1))
		_, err = raw.Exec(b.ph(`UPDATE citizen SET photo = ? WHERE id = 2`), photo1)
		require.NoError(t, err)
		require.Error(t, db.QueryRowContext(ctx, `SELECT photo FROM citizen WHERE id = 2`).Scan(&photo1))
	})
}

// TestReviewFailedBatchSendsNothing: a statement whose later value cannot
// be sealed (a bad value) writes nothing.
func TestReviewFailedBatchSendsNothing(t *testing.T) {
	raw, db := sqliteBackend.open(t, newConfig(t, testConfig))
	sqliteBackend.schema(t, db)
	_, err := db.ExecContext(as("admin"), `INSERT INTO citizen (id, name, phone) VALUES (?, ?, ?), (?, ?, ?)`, 1, "a", "13900000001", 2, "b", struct{}{})
	require.Error(t, err)
	var n int
	require.NoError(t, raw.QueryRow(`SELECT count(*) FROM citizen`).Scan(&n))
	assert.Zero(t, n)
	_ = bytes.Equal
	_ = context.Background
}
