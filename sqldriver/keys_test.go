package sqldriver_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/sqldriver"
)

// TestRotationAndShredding rotates a column's DEK while the database is in
// use (old and new values stay readable), then destroys the old DEK: its
// values no longer open, on purpose.
func TestRotationAndShredding(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		cfg := newConfig(t, testConfig)
		_, db := b.open(t, cfg)
		b.schema(t, db)
		ctx := as("admin")
		_, err := db.ExecContext(ctx, `INSERT INTO citizen (id, phone, note) VALUES (?, ?, ?)`, 1, "13800000001", "old key")
		require.NoError(t, err)
		old, err := cfg.Keyring.Current(ctx, "citizen.phone")
		require.NoError(t, err)
		_, err = cfg.Keyring.Rotate(ctx, "citizen.phone")
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 2, "13800000002")
		require.NoError(t, err)
		for id, want := range map[int]string{1: "13800000001", 2: "13800000002"} {
			var phone string
			require.NoError(t, db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = ?`, id).Scan(&phone))
			assert.Equal(t, want, phone)
		}
		var id int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT id FROM citizen WHERE phone = ?`, "13800000001").Scan(&id),
			"blind indexes do not depend on the DEK")
		assert.Equal(t, 1, id)

		require.NoError(t, cfg.Keyring.Destroy(ctx, old.ID()))
		var phone string
		err = db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = 1`).Scan(&phone)
		assert.ErrorIs(t, err, sqldriver.ErrOpen)
		assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = 2`).Scan(&phone))
		assert.Equal(t, "13800000002", phone)
		var note sql.NullString
		require.NoError(t, db.QueryRowContext(ctx, `SELECT note FROM citizen WHERE id = 1`).Scan(&note),
			"note has its own DEK")
		assert.Equal(t, "old key", note.String)
	})
}

// TestTenantKeys seals each tenant's values under its own DEKs and
// indexes them under its own blind-index root (key_scope: tenant):
// statements act for the context's tenant, a tenant reads only its own
// values, and shredding one tenant makes its values unreadable and its
// rows unfindable while the others stay readable.
func TestTenantKeys(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		cfg := newConfig(t, "key_scope: tenant\n"+testConfig)
		raw, db := b.open(t, cfg)
		b.schema(t, db)
		admin := as("admin")
		beijing, shanghai := sqldriver.WithTenant(admin, "beijing"), sqldriver.WithTenant(admin, "shanghai")
		const phone = "13800000000"
		for id, ctx := range map[int]context.Context{1: beijing, 2: shanghai} {
			_, err := db.ExecContext(ctx, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, id, phone)
			require.NoError(t, err)
		}
		_, err := db.ExecContext(admin, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 3, "13800000003")
		assert.ErrorIs(t, err, sqldriver.ErrNoTenant)
		_, err = db.QueryContext(admin, `SELECT phone FROM citizen WHERE id = 1`)
		assert.ErrorIs(t, err, sqldriver.ErrNoTenant, "decrypting needs the tenant")
		_, err = db.QueryContext(admin, `SELECT id FROM citizen WHERE phone = ?`, phone)
		assert.ErrorIs(t, err, sqldriver.ErrNoTenant, "searching needs the tenant")

		// The same phone has unrelated blind indexes in the two tenants.
		var b1, b2 string
		require.NoError(t, raw.QueryRow(`SELECT phone_bidx FROM citizen WHERE id = 1`).Scan(&b1))
		require.NoError(t, raw.QueryRow(`SELECT phone_bidx FROM citizen WHERE id = 2`).Scan(&b2))
		assert.NotEqual(t, b1, b2, "blind indexes do not link tenants")
		// Each tenant finds and reads its own row, and only it.
		for ctx, want := range map[context.Context]int{beijing: 1, shanghai: 2} {
			var ids []int
			rows, err := db.QueryContext(ctx, `SELECT id FROM citizen WHERE phone = ?`, phone)
			require.NoError(t, err)
			for rows.Next() {
				var id int
				require.NoError(t, rows.Scan(&id))
				ids = append(ids, id)
			}
			require.NoError(t, rows.Err())
			rows.Close()
			assert.Equal(t, []int{want}, ids)
		}
		var got string
		require.NoError(t, db.QueryRowContext(beijing, `SELECT phone FROM citizen WHERE id = 1`).Scan(&got))
		assert.Equal(t, phone, got)
		err = db.QueryRowContext(beijing, `SELECT phone FROM citizen WHERE id = 2`).Scan(&got)
		assert.ErrorIs(t, err, sqldriver.ErrOpen)
		assert.ErrorIs(t, err, crypto.ErrKeyMismatch, "a tenant cannot read another tenant's value")

		// Shred beijing: its DEK and its blind-index root go.
		ids, err := cfg.Keyring.DestroyTenant(admin, "beijing")
		require.NoError(t, err)
		assert.Len(t, ids, 2, "one DEK and one root")
		err = db.QueryRowContext(beijing, `SELECT phone FROM citizen WHERE id = 1`).Scan(&got)
		assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
		_, err = db.QueryContext(beijing, `SELECT id FROM citizen WHERE phone = ?`, phone)
		assert.ErrorIs(t, err, keyring.ErrKeyDestroyed, "a shredded tenant cannot be found by equality search")
		require.NoError(t, db.QueryRowContext(shanghai, `SELECT phone FROM citizen WHERE id = 2`).Scan(&got))
		assert.Equal(t, phone, got)
		var id int
		require.NoError(t, db.QueryRowContext(shanghai, `SELECT id FROM citizen WHERE phone = ?`, phone).Scan(&id))
		assert.Equal(t, 2, id)

		// Reborn, beijing gets new keys; its old rows stay unfindable.
		_, err = db.ExecContext(beijing, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 4, phone)
		require.NoError(t, err)
		require.NoError(t, db.QueryRowContext(beijing, `SELECT id FROM citizen WHERE phone = ?`, phone).Scan(&id))
		assert.Equal(t, 4, id)

		// A search for a tenant that never wrote finds nothing and stores
		// nothing: reads never create keys or roots.
		before, err := cfg.Keyring.List(admin)
		require.NoError(t, err)
		nobody := sqldriver.WithTenant(admin, "nobody")
		err = db.QueryRowContext(nobody, `SELECT id FROM citizen WHERE phone = ?`, phone).Scan(&id)
		assert.ErrorIs(t, err, sql.ErrNoRows)
		after, err := cfg.Keyring.List(admin)
		require.NoError(t, err)
		assert.Len(t, after, len(before))
		// Its first write makes its keys, and the row is found at once.
		_, err = db.ExecContext(nobody, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 5, phone)
		require.NoError(t, err)
		require.NoError(t, db.QueryRowContext(nobody, `SELECT id FROM citizen WHERE phone = ?`, phone).Scan(&id))
		assert.Equal(t, 5, id)
	})
}
