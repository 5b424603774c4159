package sqldriver_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/sqldriver"
)

var fuzzDB atomic.Int64

// FuzzDriver runs any statement through the driver on SQLite, as a role
// that may read everything and as one that may read nothing, and checks
// the invariants end to end: no panic; every value in a protected column
// opens at its own place (table, column, row key) — so no plaintext and
// no value moved from elsewhere is at rest — and every blind index is
// the index of that value; and the role that may read nothing gets no
// ciphertext, no blind index and no plaintext of a protected column.
// The seed corpus is the attack suite and testdata/fuzz/FuzzDriver.
func FuzzDriver(f *testing.F) {
	for _, a := range attacks {
		if a.runs(sqliteBackend) && len(a.q) < 2000 {
			f.Add(a.q, a.role == "default")
		}
	}
	cfg := newConfig(f, attackConfig)
	root, err := cfg.Keyring.IndexRoot(context.Background())
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, q string, asNobody bool) {
		dsn := fmt.Sprintf("file:fuzz%d?mode=memory&cache=shared", fuzzDB.Add(1))
		raw, err := sql.Open("sqlite", dsn)
		require.NoError(t, err)
		defer raw.Close()
		raw.SetMaxOpenConns(1)
		db, err := sqldriver.Open("sqlite", dsn, cfg)
		require.NoError(t, err)
		defer db.Close()
		seed(t, sqliteBackend, tdb{DB: db, ph: same})
		leaks := newLeakSet(t, raw)

		role := "admin"
		if asNobody {
			role = "default"
		}
		// A recursive CTE may never end: bound the time and the rows read.
		ctx, cancel := context.WithTimeout(as(role), 2*time.Second)
		defer cancel()
		got, _ := runAttack(ctx, db, q, nil)
		if asNobody {
			leaks.checkResult(t, q, role, got)
		}
		checkStored(t, raw, cfg.Keyring, root)
	})
}

var hexIndex = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkStored opens every protected value of citizen at its place and
// recomputes its blind indexes.
func checkStored(t *testing.T, raw *sql.DB, keys crypto.KeySource, root *crypto.IndexRoot) {
	t.Helper()
	rows, err := raw.Query(`SELECT id, id_no, id_no_bidx, phone, phone_bidx, phone_last4_bidx, name, note, photo FROM citizen`)
	if err != nil {
		return // the table or a column is gone (DROP TABLE passes): nothing to check
	}
	defer rows.Close()
	for rows.Next() {
		var id sql.NullString
		var v [8]sql.RawBytes
		require.NoError(t, rows.Scan(&id, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]))
		require.True(t, id.Valid, "a row without a row key")
		rk, err := strconv.ParseInt(id.String, 10, 64)
		require.NoError(t, err, "row key %q", id.String)
		open := func(column string, stored []byte, binary bool) []byte {
			if stored == nil {
				return nil
			}
			loc := crypto.Location{Keyspace: "citizen." + column, Table: "citizen", Column: column, RowKey: strconv.FormatInt(rk, 10)}
			var pt []byte
			var err error
			if binary {
				pt, err = crypto.Open(nil, keys, loc, stored)
			} else {
				pt, err = crypto.OpenText(nil, keys, loc, stored)
			}
			require.NoError(t, err, "citizen.%s of row %d does not open at its place: %.40q", column, rk, stored)
			return pt
		}
		index := func(column string, tr crypto.Transform, plain, stored []byte) {
			if plain == nil {
				require.Nil(t, stored, "citizen.%s is NULL but its %s index is not", column, tr)
				return
			}
			ix, err := root.Index(crypto.IndexSpec{Table: "citizen", Column: column, Transform: tr})
			require.NoError(t, err)
			want, err := ix.SumHex(nil, plain)
			require.NoError(t, err)
			require.Regexp(t, hexIndex, string(stored))
			require.True(t, bytes.Equal(want, stored), "citizen.%s: the %s index is not the value's", column, tr)
		}
		idNo := open("id_no", v[0], false)
		index("id_no", crypto.TransformFull, idNo, v[1])
		phone := open("phone", v[2], false)
		index("phone", crypto.TransformFull, phone, v[3])
		index("phone", crypto.TransformLast4, phone, v[4])
		open("name", v[5], false)
		open("note", v[6], false)
		open("photo", v[7], true)
	}
}
