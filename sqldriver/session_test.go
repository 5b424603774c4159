package sqldriver_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver"
)

// TestConnectionSettings covers issue 10 class 2: the driver must know the
// connection's lexical settings. Under a client character set other than
// UTF-8 the server reads non-ASCII text differently from the parser (a
// GBK character may end with the byte of a backslash); MariaDB's ORACLE
// sql_mode changes the grammar. ASCII statements read the same under any
// character set, so they pass; the others are refused while the setting
// holds, and pass again once it is back.
func TestConnectionSettings(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		if b.name == "sqlite" {
			t.Skip("SQLite reads every statement as UTF-8")
		}
		_, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		ctx := as("admin")
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		defer c.Close()
		exec := func(q string, args ...any) error {
			_, err := c.ExecContext(ctx, b.ph(q), args...)
			return err
		}
		// A literal for a protected column is bound (sealed) and leaves the
		// text; one for an ordinary column stays in what the server reads.
		nonASCII := `INSERT INTO citizen (id, phone, note, city) VALUES (?, ?, '备注', '北京')`
		require.NoError(t, exec(nonASCII, 1, "13800000001"))

		setCharset, reset := `SET client_encoding = 'GBK'`, `SET client_encoding = 'UTF8'`
		if b.name == "mysql" {
			setCharset, reset = `SET NAMES gbk`, `SET NAMES utf8mb4`
		}
		require.NoError(t, exec(setCharset))
		err = exec(nonASCII, 2, "13800000002")
		assert.ErrorIs(t, err, sqldriver.ErrSession)
		assert.ErrorIs(t, err, sqldriver.ErrRefused)
		if err != nil {
			assert.NotContains(t, err.Error(), "北京")
		}
		// The check runs for every such statement, not only after a SET
		// the driver saw: a function may change the setting too.
		rows, err := c.QueryContext(ctx, b.ph(`SELECT phone FROM citizen WHERE id = ? AND city = '北京'`), 1)
		if err == nil {
			rows.Close()
		}
		assert.ErrorIs(t, err, sqldriver.ErrSession)
		ascii := exec(`INSERT INTO citizen (id, phone) VALUES (?, ?)`, 3, "13800000003")
		if b.name == "mysql" {
			// ASCII text reads the same, but go-sql-driver may splice the
			// arguments into it (interpolateParams), escaping quotes with
			// backslashes that a GBK character can swallow.
			assert.ErrorIs(t, ascii, sqldriver.ErrSession)
		} else {
			require.NoError(t, ascii, "ASCII text reads the same")
		}
		require.NoError(t, exec(reset))
		require.NoError(t, exec(nonASCII, 2, "13800000002"))

		if b.name != "mysql" {
			return
		}
		var version string
		require.NoError(t, c.QueryRowContext(ctx, `SELECT VERSION()`).Scan(&version))
		if !assert.Contains(t, version, "MariaDB") {
			return
		}
		require.NoError(t, exec(`SET SESSION sql_mode = 'ORACLE'`))
		err = exec(`INSERT INTO citizen (id, phone) VALUES (?, ?)`, 4, "13800000004")
		assert.ErrorIs(t, err, sqldriver.ErrSession, "ORACLE mode changes the grammar")
		require.NoError(t, exec(`SET SESSION sql_mode = DEFAULT`))
		require.NoError(t, exec(`INSERT INTO citizen (id, phone) VALUES (?, ?)`, 4, "13800000004"))
		var n int
		require.NoError(t, c.QueryRowContext(ctx, `SELECT count(*) FROM citizen`).Scan(&n))
		assert.Equal(t, 3, n)
	})
}

// TestSessionCheckOnPreparedStatements: a prepared statement is checked
// when it is prepared (the server reads its text then) and when it runs.
func TestSessionCheckOnPreparedStatements(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		if b.name == "sqlite" {
			t.Skip("SQLite reads every statement as UTF-8")
		}
		_, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		ctx := context.Background()
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		defer c.Close()
		st, err := c.PrepareContext(ctx, b.ph(`INSERT INTO citizen (id, phone, city) VALUES (?, ?, '北京')`))
		require.NoError(t, err)
		defer st.Close()
		setCharset := `SET client_encoding = 'GBK'`
		if b.name == "mysql" {
			setCharset = `SET NAMES gbk`
		}
		_, err = c.ExecContext(ctx, setCharset)
		require.NoError(t, err)
		_, err = st.ExecContext(as("admin"), 1, "13800000001")
		assert.ErrorIs(t, err, sqldriver.ErrSession)
		_, err = c.PrepareContext(ctx, b.ph(`SELECT id FROM citizen WHERE phone = ? AND note IS NULL AND city = '上海'`))
		assert.ErrorIs(t, err, sqldriver.ErrSession)
	})
}

// TestInterpolatedArgumentsUnderGBK: with interpolateParams, go-sql-driver
// splices an argument into the ASCII statement escaping its quote with a
// backslash; under SET NAMES gbk the byte before it joins the backslash in
// one character and the quote ends the string: plaintext reached note.
func TestInterpolatedArgumentsUnderGBK(t *testing.T) {
	raw, dsn := mysqlBackend.connect(t)
	db, err := sqldriver.Open("mysql", dsn+"&interpolateParams=true", newConfig(t, testConfig))
	require.NoError(t, err)
	defer db.Close()
	w := tdb{DB: db, ph: same}
	mysqlBackend.schema(t, w)
	ctx := as("admin")
	_, err = w.ExecContext(ctx, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 1, "13800000001")
	require.NoError(t, err)
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.ExecContext(ctx, `SET NAMES gbk`)
	require.NoError(t, err)
	_, err = c.ExecContext(ctx, `UPDATE citizen SET city = ? WHERE id = 1`, "\xbf' , note = 0x4d41524b58515a -- ")
	assert.ErrorIs(t, err, sqldriver.ErrSession)
	var note sql.NullString
	require.NoError(t, raw.QueryRow(`SELECT note FROM citizen WHERE id = 1`).Scan(&note))
	assert.False(t, note.Valid, "nothing reached note")
}
