package sqldriver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
)

// TestMultiRowInsertSealsEachRow: one INSERT of 120 rows (600 values:
// text and binary, NULLs among them) is sealed as one batch; every value
// reads back at its own row and is found by its blind index, every stored
// envelope is distinct and holds no plaintext, and a value copied to
// another row does not open there.
func TestMultiRowInsertSealsEachRow(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		raw, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		const n = 120
		var q strings.Builder
		q.WriteString(`INSERT INTO citizen (id, id_no, phone, name, photo) VALUES `)
		var args []any
		phone := func(i int) string { return fmt.Sprintf("139%08d", 7000000+i) }
		for i := range n {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?)")
			var name, photo any = fmt.Sprintf("姓名%d", i), []byte{byte(i), 0, byte(i >> 8)}
			if i%7 == 3 {
				name, photo = nil, nil
			}
			args = append(args, i+1, fmt.Sprintf("1101051949%08d", i), phone(i), name, photo)
		}
		_, err := db.ExecContext(as("admin"), q.String(), args...)
		require.NoError(t, err)

		rows, err := db.QueryContext(as("admin"), `SELECT id, id_no, phone, name, photo FROM citizen ORDER BY id`)
		require.NoError(t, err)
		i := 0
		for rows.Next() {
			var id int
			var idNo, ph string
			var name *string
			var photo []byte
			require.NoError(t, rows.Scan(&id, &idNo, &ph, &name, &photo))
			require.Equal(t, i+1, id)
			assert.Equal(t, fmt.Sprintf("1101051949%08d", i), idNo)
			assert.Equal(t, phone(i), ph)
			if i%7 == 3 {
				assert.Nil(t, name)
				assert.Nil(t, photo)
			} else {
				require.NotNil(t, name)
				assert.Equal(t, fmt.Sprintf("姓名%d", i), *name)
				assert.Equal(t, []byte{byte(i), 0, byte(i >> 8)}, photo)
			}
			i++
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		require.Equal(t, n, i)

		var id int
		require.NoError(t, db.QueryRowContext(as("admin"), `SELECT id FROM citizen WHERE phone = ?`, phone(77)).Scan(&id))
		assert.Equal(t, 78, id, "the blind index of each row is its own value's")

		seen := map[string]bool{}
		rr, err := raw.Query(`SELECT id_no, phone, photo FROM citizen`)
		require.NoError(t, err)
		for rr.Next() {
			var idNo, ph string
			var photo []byte
			require.NoError(t, rr.Scan(&idNo, &ph, &photo))
			for _, v := range []string{idNo, ph} {
				require.True(t, strings.HasPrefix(v, "gmf2:"), "stored %.8s…", v)
				require.False(t, seen[v], "an envelope stored twice")
				seen[v] = true
			}
			if photo != nil {
				_, err := crypto.Parse(photo)
				require.NoError(t, err, "a binary column holds an envelope")
				require.False(t, seen[string(photo)], "an envelope stored twice")
				seen[string(photo)] = true
			}
		}
		require.NoError(t, rr.Err())
		require.NoError(t, rr.Close())

		var moved string
		require.NoError(t, raw.QueryRow(`SELECT phone FROM citizen WHERE id = 10`).Scan(&moved))
		_, err = raw.Exec(b.ph(`UPDATE citizen SET phone = ? WHERE id = 11`), moved)
		require.NoError(t, err)
		var got string
		err = db.QueryRowContext(as("admin"), `SELECT phone FROM citizen WHERE id = 11`).Scan(&got)
		require.Error(t, err, "row 10's phone opened at row 11")
	})
}
